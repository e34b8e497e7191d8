using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Usage;

using RelayKit.AspNetCore.Hosting;

namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// The operations API's handlers: create, list, read, top up, refund and close, revoke, and read the
/// ledger of keys created at run time, and read, top up, refund and read the ledger of keys configured with a
/// <c>Budget</c> (known by their name). All money goes through <see cref="IBudgetLedger"/>, whose
/// idempotency references make a redelivered payment webhook credit once.
/// </summary>
internal sealed partial class RelayAdminEndpoints(
    IRelayKeyStore store,
    CreatedKeyLookup lookup,
    IUsageStore usage,
    IServiceProvider services,
    IOptionsMonitor<ModelRelayOptions> options,
    TimeProvider time,
    ILogger<RelayAdminEndpoints> logger)
{
    private const int MaxNameLength = 100;
    private const int MaxReferenceLength = 200;
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    // Settings are named under the relay's section as AddModelRelay was given it.
    private string SettingsPath => ((Hosting.RelaySection?)services.GetService(typeof(Hosting.RelaySection)) ?? Hosting.RelaySection.Default).Path;

    // Resolved on use: the ledger is registered by the relay's budget wiring, which may come after AddAdmin.
    private IBudgetLedger Ledger => (IBudgetLedger?)services.GetService(typeof(IBudgetLedger))
        ?? throw new InvalidOperationException("The operations API needs the budget ledger (IBudgetLedger); it is not registered.");

    private KeyBudgets? Budgets => (KeyBudgets?)services.GetService(typeof(KeyBudgets));

    /// <summary>Whether the budget ledger is registered, checked when the endpoints are mapped.</summary>
    public bool HasLedger => services.GetService(typeof(IBudgetLedger)) is not null;

    /// <summary>Runs <paramref name="action"/> and writes its result when the request passes the admin key check (or no admin key is set and the host's policy guards the endpoint).</summary>
    /// <remarks>A store outage (the ledger or the key store unreachable or timing out) answers a retryable 503, as the relay's own endpoints do.</remarks>
    public Task HandleAsync(HttpContext http, Func<HttpContext, Task<IResult>> action) =>
        StoreFailures.GuardAsync(http, "operations API", async h =>
        {
            var result = await GuardAsync(h, action);
            await result.ExecuteAsync(h);
        });

    private async Task<IResult> GuardAsync(HttpContext http, Func<HttpContext, Task<IResult>> action)
    {
        var admin = options.CurrentValue.Admin;
        byte[]? expected = !string.IsNullOrEmpty(admin.Key) ? RelayKeyHash.Compute(admin.Key)
            : !string.IsNullOrEmpty(admin.KeySha256) && RelayKeyHash.TryParseHex(admin.KeySha256, out var parsed) ? parsed
            : null;
        if (expected is not null)
        {
            const string bearer = "Bearer ";
            var authorization = http.Request.Headers.Authorization.ToString();
            var presented = authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? authorization[bearer.Length..].Trim() : "";
            if (presented.Length == 0 || !CryptographicOperations.FixedTimeEquals(RelayKeyHash.Compute(presented), expected))
            {
                LogAdminKeyRefused(logger, http.Request.Path);
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return Error(StatusCodes.Status401Unauthorized, "admin_key_required", "The operations API needs the admin key as 'Authorization: Bearer'.");
            }
        }
        else if (!IsProtectedByHost(http))
        {
            // Fail closed: an operations API that mints keys and moves money must never be open by accident.
            LogUnprotected(logger, http.Request.Path);
            return Error(StatusCodes.Status403Forbidden, "admin_unprotected",
                $"The operations API is not protected: call RequireAuthorization(...) on MapModelRelayAdmin() or set {SettingsPath}:Admin:Key.");
        }

        return await action(http);
    }

    public async Task<IResult> CreateAsync(HttpContext http)
    {
        var (request, error) = await ReadAsync<CreateKeyRequest>(http, required: true);
        if (error is not null)
        {
            return error;
        }

        var now = time.GetUtcNow();
        var name = request!.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            return Invalid($"'name' is required, 1 to {MaxNameLength} characters.");
        }

        var models = request.Models ?? [];
        foreach (var model in models)
        {
            if (string.IsNullOrWhiteSpace(model))
            {
                return Invalid("'models' must not contain empty names.");
            }

            try
            {
                ModelPattern.Parse(model);
            }
            catch (ArgumentException exception)
            {
                return Invalid($"'models' has an invalid pattern '{model}': {exception.Message}");
            }
        }

        if (request.ExpiresAt is { } expires && expires <= now)
        {
            return Invalid("'expires_at' must be in the future.");
        }

        if (request.Credit is { } credit && (credit <= 0 || credit > BudgetLedger.MaxBalance || !BudgetLedger.IsAtScale(credit)))
        {
            return Invalid($"'credit' must be positive, at most {MaxBalanceText} US dollars and have at most {BudgetLedger.AmountScale} decimal places when given.");
        }

        if (request.CreditReference is { } creditReference && !ValidReference(creditReference))
        {
            return Invalid($"'credit_reference' must be 1 to {MaxReferenceLength} characters.");
        }

        var secret = RelayKeySecret.NewSecret();
        var id = request.CreditReference is { } paidReference ? RelayKeySecret.IdFor(paidReference) : RelayKeySecret.NewId();
        var key = new CreatedRelayKey(id, name, RelayKeyHash.Compute(secret), [.. models.Select(m => m.Trim())], now, request.ExpiresAt, null, null);

        // The paid credit goes first, to the new key's account, and the key is stored only when it was applied: a
        // credit_reference already used (a payment webhook delivered again) creates no second key. The key id follows
        // from the reference, so when the credit landed and the key's own write failed, the retry with the same
        // reference finds the credit already applied to this very account and stores the key then.
        if (request.Credit is { } paid)
        {
            var reference = request.CreditReference ?? "create:" + key.Id;
            var topUp = await Ledger.TopUpAsync(key.Id, paid, reference, http.RequestAborted);
            LogCredited(logger, LogValue.OfKeyName(key.Id)!, "top_up", topUp.Amount, LogValue.Of(reference)!, topUp.Status);
            var retriedAfterAFailedWrite = topUp.Status is CreditStatus.AlreadyApplied
                && await store.GetAsync(key.Id, http.RequestAborted) is null;
            if (topUp.Status is not CreditStatus.Applied && !retriedAfterAFailedWrite)
            {
                return CreditRefused(key.Id, reference, topUp.Status is CreditStatus.AlreadyApplied ? CreditStatus.ReferenceConflict : topUp.Status);
            }
        }

        await store.AddAsync(key, http.RequestAborted);
        LogKeyCreated(logger, LogValue.OfKeyName(key.Id)!, LogValue.OfKeyName(key.Name)!, key.ExpiresAt);

        var trial = options.CurrentValue.Admin.TrialCredit;
        if (trial > 0)
        {
            var granted = await Ledger.GrantFreeCreditAsync(key.Id, trial, "trial:" + key.Id, http.RequestAborted);
            LogCredited(logger, LogValue.OfKeyName(key.Id)!, "free_credit", granted.Amount, LogValue.Of("trial:" + key.Id)!, granted.Status);
        }

        var balance = await Ledger.GetBalanceAsync(key.Id, http.RequestAborted);
        return Json(StatusCodes.Status201Created, KeyView.From(key, now, balance, secret));
    }

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var now = time.GetUtcNow();
        var keys = await store.ListAsync(http.RequestAborted);
        // Each key with its money (balance, reserved) and its spend, so an operator sees the whole picture in one
        // call. A configured key's state lives in its ledger account alone (a refund closes it): read it, or a
        // refunded configured key would be listed as active.
        // Spend is one grouped read for every key when the store sums it; a host's own store is asked key by key.
        var spentByKey = usage is IUsageSpendTotals summing ? await summing.GetSpentByKeyAsync(http.RequestAborted) : null;
        async Task<decimal> Spent(string id) =>
            spentByKey is null ? await SpentAsync(id, http.RequestAborted) : spentByKey.GetValueOrDefault(id);
        var views = new List<KeyView>();
        foreach (var key in options.CurrentValue.Keys.Where(k => k?.Name is not null && k.Budget is not null))
        {
            views.Add(KeyView.From(key, await Ledger.GetBalanceAsync(key.Name!, http.RequestAborted)) with { Spent = await Spent(key.Name!) });
        }

        foreach (var key in keys)
        {
            views.Add(KeyView.From(key, now, await Ledger.GetBalanceAsync(key.Id, http.RequestAborted)) with { Spent = await Spent(key.Id) });
        }

        return Json(StatusCodes.Status200OK, new KeyListView(views));
    }

    public async Task<IResult> GetAsync(HttpContext http)
    {
        var (key, missing) = await FindAsync(http);
        if (key is null)
        {
            return missing!;
        }

        var balance = await Ledger.GetBalanceAsync(key.Id, http.RequestAborted);
        var view = key.Created is { } created ? KeyView.From(created, time.GetUtcNow(), balance) : KeyView.From(key.Configured!, balance);
        return Json(StatusCodes.Status200OK, view with { Spent = await SpentAsync(key.Id, http.RequestAborted) });
    }

    /// <summary>What a key's usage records cost in all, summed by the usage store (one row per day and model, not per record).</summary>
    private async Task<decimal> SpentAsync(string keyId, CancellationToken cancellationToken) =>
        (await usage.GetDailyTotalsAsync(new UsageFilter { KeyName = keyId }, cancellationToken)).Sum(t => t.Cost);

    public async Task<IResult> BalanceAsync(HttpContext http)
    {
        var (key, missing) = await FindAsync(http);
        if (key is null)
        {
            return missing!;
        }

        var balance = await Ledger.GetBalanceAsync(key.Id, http.RequestAborted);
        return Json(StatusCodes.Status200OK, balance is null ? new BalanceView(0, 0, 0, 0, key.Created?.ClosedAt is not null) : BalanceView.From(balance));
    }

    public async Task<IResult> TopUpAsync(HttpContext http)
    {
        var (key, missing) = await FindAsync(http);
        if (key is null)
        {
            return missing!;
        }

        var (request, error) = await ReadAsync<TopUpRequest>(http, required: true);
        if (error is not null)
        {
            return error;
        }

        if (request!.Amount is not { } amount || amount <= 0 || !BudgetLedger.IsAtScale(amount))
        {
            return Invalid($"'amount' is required and must be positive (US dollars, at most {BudgetLedger.AmountScale} decimal places).");
        }

        if (request.Reference is not { } reference || !ValidReference(reference))
        {
            return Invalid($"'reference' is required (the payment's id, 1 to {MaxReferenceLength} characters): the same reference credits once.");
        }

        var result = await Ledger.TopUpAsync(key.Id, amount, reference, http.RequestAborted);
        LogCredited(logger, LogValue.OfKeyName(key.Id)!, "top_up", result.Amount, LogValue.Of(reference)!, result.Status);
        return result.Status is CreditStatus.Applied or CreditStatus.AlreadyApplied
            ? Json(StatusCodes.Status200OK, Credit(key.Id, reference, result))
            : CreditRefused(key.Id, reference, result.Status);
    }

    public async Task<IResult> RefundAsync(HttpContext http)
    {
        var (key, missing) = await FindAsync(http);
        if (key is null)
        {
            return missing!;
        }

        var (request, error) = await ReadAsync<RefundRequest>(http, required: false);
        if (error is not null)
        {
            return error;
        }

        var reference = request?.Reference ?? "refund:" + key.Id;
        if (!ValidReference(reference))
        {
            return Invalid($"'reference' must be 1 to {MaxReferenceLength} characters.");
        }

        var result = await Ledger.RefundAsync(key.Id, reference, http.RequestAborted);
        LogRefunded(logger, LogValue.OfKeyName(key.Id)!, result.Amount, LogValue.Of(reference)!, result.Status);
        if (result.Status is CreditStatus.ReferenceConflict)
        {
            return Error(StatusCodes.Status409Conflict, "reference_conflict", $"The reference '{reference}' was already used for something else; nothing was refunded.");
        }

        if (result.Status is CreditStatus.AccountClosed && (key.Created is null || key.Created.ClosedAt is not null))
        {
            return Error(StatusCodes.Status409Conflict, "key_closed", $"The key '{key.Id}' was already refunded and closed.");
        }

        // Applied, AlreadyApplied, AccountNotFound (never credited: nothing to pay back) all end with the key closed.
        // A configured key is closed by its ledger account alone: its requests are refused with key_closed from then on.
        if (key.Created is { } created)
        {
            var closed = await store.CloseAsync(created.Id, time.GetUtcNow(), http.RequestAborted) ?? created;
            lookup.Invalidate(closed);
        }

        var amount = result.Status is CreditStatus.AccountNotFound ? 0m : result.Amount;
        return Json(StatusCodes.Status200OK, new CreditView(key.Id, reference, Status(result.Status), amount, result.Balance ?? 0m));
    }

    public async Task<IResult> RevokeAsync(HttpContext http)
    {
        var (key, missing) = await FindAsync(http);
        if (key is null)
        {
            return missing!;
        }

        if (key.Created is not { } created)
        {
            return Error(StatusCodes.Status409Conflict, "key_configured",
                $"The key '{key.Id}' is configured in {SettingsPath}:Keys; revoke it by removing it from configuration (or refund it to close it).");
        }

        var revoked = await store.RevokeAsync(created.Id, time.GetUtcNow(), http.RequestAborted) ?? created;
        lookup.Invalidate(revoked);
        LogRevoked(logger, LogValue.OfKeyName(key.Id)!);
        return Json(StatusCodes.Status200OK, KeyView.From(revoked, time.GetUtcNow(), null));
    }

    public async Task<IResult> LedgerAsync(HttpContext http)
    {
        var (key, missing) = await FindAsync(http);
        if (key is null)
        {
            return missing!;
        }

        var query = http.Request.Query;
        long after = 0;
        var limit = DefaultPageSize;
        if (query.TryGetValue("after", out var afterText) && (!long.TryParse(afterText, out after) || after < 0))
        {
            return Invalid("'after' must be a non-negative whole number (a ledger sequence).");
        }

        if (query.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, out limit) || limit is < 1 or > MaxPageSize))
        {
            return Invalid($"'limit' must be a whole number from 1 to {MaxPageSize}.");
        }

        var entries = await Ledger.GetEntriesAsync(key.Id, after, limit, http.RequestAborted);
        long? next = entries.Count == limit ? entries[^1].Sequence : null;
        return Json(StatusCodes.Status200OK, new LedgerPageView(key.Id, [.. entries.Select(LedgerEntryView.From)], next));
    }

    private static bool IsProtectedByHost(HttpContext http)
    {
        var metadata = http.GetEndpoint()?.Metadata;
        return metadata?.GetMetadata<IAuthorizeData>() is not null && metadata.GetMetadata<IAllowAnonymous>() is null;
    }

    /// <summary>
    /// The key the route names: a created key by its id, else a configured key by its name. A configured key with a
    /// <c>Budget</c> has its initial credit applied first (as its first request would), so that what is read or
    /// refunded includes it; one without a <c>Budget</c> is unmetered and has no money to manage.
    /// </summary>
    private async Task<(ManagedKey? Key, IResult? Error)> FindAsync(HttpContext http)
    {
        if (http.Request.RouteValues["id"] is not string id)
        {
            return (null, UnknownKey(http));
        }

        if (await store.GetAsync(id, http.RequestAborted) is { } created)
        {
            return (new ManagedKey(created.Id, created, null), null);
        }

        if (Budgets is not { } budgets || budgets.Configured(id) is not { } configured)
        {
            return (null, UnknownKey(http));
        }

        if (configured.Budget is null)
        {
            return (null, Error(StatusCodes.Status409Conflict, "key_not_metered",
                $"The configured key '{id}' has no Budget, so it has no balance; give it one in {SettingsPath}:Keys (Budget: 0 meters it from an empty balance)."));
        }

        await budgets.EnsureOpenedAsync(id, http.RequestAborted);
        return (new ManagedKey(id, null, configured), null);
    }

    private static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpContext http, bool required)
        where T : class
    {
        if (http.Request.ContentLength is 0 || (http.Request.ContentLength is null && !http.Request.Headers.ContainsKey("Transfer-Encoding")))
        {
            return required ? (null, Invalid("The request needs a JSON body.")) : (null, null);
        }

        if (!http.Request.HasJsonContentType())
        {
            return (null, Error(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "The body must be JSON (Content-Type: application/json)."));
        }

        try
        {
            var value = (T?)await JsonSerializer.DeserializeAsync(http.Request.Body, typeof(T), RelayJsonContext.Default, http.RequestAborted);
            return value is null && required ? (null, Invalid("The request needs a JSON object body.")) : (value, null);
        }
        catch (JsonException exception)
        {
            return (null, Invalid("The body is not valid JSON for this request: " + exception.Message));
        }
    }

    private static bool ValidReference(string reference) => reference.Trim().Length is > 0 and <= MaxReferenceLength;

    private static CreditView Credit(string keyId, string reference, CreditResult result) =>
        new(keyId, reference, Status(result.Status), result.Amount, result.Balance);

    private static string Status(CreditStatus status) => status switch
    {
        CreditStatus.Applied => "applied",
        CreditStatus.AlreadyApplied => "already_applied",
        CreditStatus.AccountNotFound => "nothing_to_refund",
        _ => JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString()),
    };

    private static IResult UnknownKey(HttpContext http) =>
        Error(StatusCodes.Status404NotFound, "key_not_found", $"There is no key '{http.Request.RouteValues["id"]}' (created, or configured with a Budget).");

    /// <summary>The answer to a credit the ledger did not apply, the same for a top-up and for the credit of a new key.</summary>
    private static IResult CreditRefused(string keyId, string reference, CreditStatus status) => status switch
    {
        CreditStatus.ReferenceConflict => Error(StatusCodes.Status409Conflict, "reference_conflict",
            $"The reference '{reference}' was already used for another key, kind or amount; nothing was credited."),
        CreditStatus.AccountClosed => Error(StatusCodes.Status409Conflict, "key_closed", $"The key '{keyId}' was refunded and closed; nothing was credited."),
        CreditStatus.OverMaximum => OverMaximum(),
        _ => Error(StatusCodes.Status409Conflict, "not_applied", $"Nothing was credited ({status})."),
    };

    internal static IResult Invalid(string message) => Error(StatusCodes.Status400BadRequest, "invalid_request", message);

    private static string MaxBalanceText => BudgetLedger.MaxBalance.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    private static IResult OverMaximum() =>
        Invalid($"Nothing was credited: the balance would pass the maximum a key may hold ({MaxBalanceText} US dollars).");

    internal static IResult Error(int status, string code, string message) =>
        Json(status, new AdminErrorView(new AdminErrorDetail(message, code)));

    internal static IResult Json<T>(int status, T value) => Results.Json(value, typeof(T), RelayJsonContext.Default, statusCode: status);

    [LoggerMessage(1, LogLevel.Information, "Created relay key {KeyId} ({KeyName}), expires {ExpiresAt}")]
    private static partial void LogKeyCreated(ILogger logger, string keyId, string keyName, DateTimeOffset? expiresAt);

    [LoggerMessage(2, LogLevel.Information, "Credit {Kind} of {Amount} to key {KeyId} with reference {Reference}: {Status}")]
    private static partial void LogCredited(ILogger logger, string keyId, string kind, decimal amount, string reference, CreditStatus status);

    [LoggerMessage(3, LogLevel.Information, "Refund of {Amount} for key {KeyId} with reference {Reference}: {Status}")]
    private static partial void LogRefunded(ILogger logger, string keyId, decimal amount, string reference, CreditStatus status);

    [LoggerMessage(4, LogLevel.Information, "Revoked relay key {KeyId}")]
    private static partial void LogRevoked(ILogger logger, string keyId);

    [LoggerMessage(5, LogLevel.Warning, "Operations API request to {Path} refused: missing or wrong admin key")]
    private static partial void LogAdminKeyRefused(ILogger logger, PathString path);

    [LoggerMessage(6, LogLevel.Error, "Operations API request to {Path} refused: the endpoints have no authorization policy and no admin key is set")]
    private static partial void LogUnprotected(ILogger logger, PathString path);
}
