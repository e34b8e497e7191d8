using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// What a caller may ask about its own money, with its own relay key: its balance
/// (<c>GET /v1/relay/balance</c>), what a request was charged (<c>GET /v1/relay/requests/{id}/cost</c>, for
/// streams, whose charge is known only after their headers went out), and a dry run
/// (<c>POST /v1/relay/estimate?endpoint=chat/completions</c>) that prices a request body without sending it, and its
/// top-ups, free credit and refunds with their references (<c>GET /v1/relay/ledger?after=&amp;limit=</c>, oldest first,
/// paged by ledger sequence as the operations API's ledger is).
/// </summary>
internal static class RelayBudgetEndpoints
{
    // The metered operations by the endpoint a dry run names (the caller's path without /v1/).
    private static readonly Dictionary<string, RelayOperation> Operations = RelayOperation.Relayed
        .Where(operation => operation.Metered)
        .ToDictionary(operation => operation.CallerPath["/v1/".Length..], StringComparer.OrdinalIgnoreCase);

    /// <summary>How many ledger entries a page holds unless the caller asks for fewer or more.</summary>
    public const int DefaultLedgerPageSize = 100;

    /// <summary>The most ledger entries one page holds.</summary>
    public const int MaxLedgerPageSize = 1000;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/v1/relay/ledger", http => StoreFailures.GuardAsync(http, "ledger", LedgerAsync)).WithDisplayName("RelayKit ledger");
        group.MapGet("/v1/relay/balance", http => StoreFailures.GuardAsync(http, "balance", BalanceAsync)).WithDisplayName("RelayKit balance");
        group.MapGet("/v1/relay/requests/{requestId}/cost", http => StoreFailures.GuardAsync(http, "request cost", h => CostAsync(h, (string)h.GetRouteValue("requestId")!)))
            .WithDisplayName("RelayKit request cost");
        group.MapPost("/v1/relay/estimate", http => StoreFailures.GuardAsync(http, "estimate", EstimateAsync)).WithDisplayName("RelayKit estimate");
    }

    private static async Task BalanceAsync(HttpContext http)
    {
        if (await AuthenticateAsync(http, WireFormat.OpenAI, allowClosed: true) is not { } caller)
        {
            return;
        }

        var keys = http.RequestServices.GetRequiredService<KeyBudgets>();
        if (!keys.IsMetered(caller.KeyName))
        {
            await WriteAsync(http, new CallerBalanceView(caller.KeyName, Metered: false));
            return;
        }

        await keys.EnsureOpenedAsync(caller.KeyName, http.RequestAborted);
        var balance = await http.RequestServices.GetRequiredService<IBudgetLedger>().GetBalanceAsync(caller.KeyName, http.RequestAborted);
        await WriteAsync(http, new CallerBalanceView(
            caller.KeyName, Metered: true, balance?.Balance ?? 0m, balance?.Reserved ?? 0m, balance?.Available ?? 0m, balance?.FreeCredit ?? 0m, balance?.Closed ?? false));
    }

    /// <summary>
    /// The caller's own credits and refunds, never another key's: the key comes from the caller's secret alone, no
    /// parameter names one. Reservations and charges are left out (the usage JSON sums what requests cost).
    /// </summary>
    private static async Task LedgerAsync(HttpContext http)
    {
        if (await AuthenticateAsync(http, WireFormat.OpenAI, allowClosed: true) is not { } caller)
        {
            return;
        }

        var query = http.Request.Query;
        long after = 0;
        var limit = DefaultLedgerPageSize;
        if (query.TryGetValue("after", out var afterText) && (!long.TryParse(afterText, out after) || after < 0))
        {
            await RelayErrorWriter.WriteAsync(http, WireFormat.OpenAI, RelayError.InvalidField("after", "must be a non-negative whole number (a ledger sequence)"));
            return;
        }

        if (query.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, out limit) || limit is < 1 or > MaxLedgerPageSize))
        {
            await RelayErrorWriter.WriteAsync(http, WireFormat.OpenAI, RelayError.InvalidField("limit", $"must be a whole number from 1 to {MaxLedgerPageSize}"));
            return;
        }

        http.Response.Headers.CacheControl = "no-store";
        var entries = await http.RequestServices.GetRequiredService<IBudgetLedger>().GetCreditsAsync(caller.KeyName, after, limit, http.RequestAborted);
        long? next = entries.Count == limit ? entries[^1].Sequence : null;
        await WriteAsync(http, new Admin.LedgerPageView(caller.KeyName, [.. entries.Select(Admin.LedgerEntryView.From)], next));
    }

    private static async Task CostAsync(HttpContext http, string requestId)
    {
        if (await AuthenticateAsync(http, WireFormat.OpenAI, allowClosed: true) is not { } caller)
        {
            return;
        }

        var reservation = await http.RequestServices.GetRequiredService<IBudgetLedger>().GetReservationAsync(requestId, http.RequestAborted);

        // Another key's request is answered exactly like an unknown one, so ids reveal nothing.
        if (reservation is null || !string.Equals(reservation.KeyId, caller.KeyName, StringComparison.Ordinal))
        {
            await RelayErrorWriter.WriteAsync(http, WireFormat.OpenAI, new RelayError(StatusCodes.Status404NotFound, RelayErrorKind.NotFound, "request_not_found",
                $"No metered request '{requestId}' of this key is known."));
            return;
        }

        await WriteAsync(http, new RequestCostView(
            reservation.RequestId, reservation.State.ToString().ToLowerInvariant(), reservation.Amount, reservation.Charged, reservation.ReportedCost));
    }

    private static async Task EstimateAsync(HttpContext http)
    {
        var endpoint = http.Request.Query["endpoint"].ToString().Trim('/');
        if (endpoint.StartsWith("v1/", StringComparison.OrdinalIgnoreCase))
        {
            endpoint = endpoint[3..];
        }

        var operation = Operations.GetValueOrDefault(endpoint.Length == 0 ? "chat/completions" : endpoint);
        var format = operation?.Format ?? WireFormat.OpenAI;
        if (await AuthenticateAsync(http, format) is not { } caller)
        {
            return;
        }

        if (operation is null)
        {
            await RelayErrorWriter.WriteAsync(http, format, RelayError.InvalidField("endpoint", "must be one of " + string.Join(", ", Operations.Keys)));
            return;
        }

        var services = http.RequestServices;
        var (body, bodyError) = await RelayRequestBodyReader.ReadAsync(http.Request, services.GetRequiredService<IOptionsMonitor<ModelRelayOptions>>().CurrentValue.MaxRequestBodySize, http.RequestAborted);
        using var context = new RelayRequestContext(http, operation, format, "estimate", services.GetRequiredService<TimeProvider>().GetUtcNow()) { Caller = caller, Body = body };
        var error = bodyError;
        if (error is null)
        {
            var (fields, fieldError) = operation.ReadFields(body!.Root);
            context.Fields = fields;
            error = fieldError ?? RequestRouting.Route(context, services.GetRequiredService<ModelRouter>().Table, services.GetRequiredService<RelayPriceCatalog>(), services.GetRequiredService<ModelRouter>().Health);
        }

        CostEstimate? estimate = null;
        if (error is null)
        {
            (estimate, error) = await services.GetRequiredService<BudgetAdmission>().EstimateAsync(context);
        }

        if (error is not null)
        {
            await RelayErrorWriter.WriteAsync(http, format, error);
            return;
        }

        await WriteAsync(http, new EstimateView(
            context.Fields!.Model,
            estimate!.Cost,
            estimate.PromptTokens,
            estimate.OutputTokens,
            estimate.ExactTokenizer,
            estimate.HasUncountedContext,
            context.OutputLimit is null ? null : context.UpstreamOperation.OutputLimitField(context.Candidates[0].UpstreamModel)));
    }

    private static Task WriteAsync<T>(HttpContext http, T value) => Results.Json(value, typeof(T), RelayJsonContext.Default).ExecuteAsync(http);

    /// <summary>The caller, or null after answering the refusal; a closed key may still read (<paramref name="allowClosed"/>) but not estimate.</summary>
    private static async Task<RelayCaller?> AuthenticateAsync(HttpContext http, WireFormat format, bool allowClosed = false)
    {
        var (caller, error) = await http.RequestServices.GetRequiredService<RelayKeyAuthenticator>().AuthenticateAsync(http.Request, http.RequestAborted, format, allowClosed);
        if (error is not null)
        {
            await RelayErrorWriter.WriteAsync(http, format, error);
        }

        return caller;
    }
}
