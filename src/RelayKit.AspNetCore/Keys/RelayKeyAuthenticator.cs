using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Keys;

/// <summary>
/// Step 1 of the request path: reads the relay key the way each SDK sends it (OpenAI clients:
/// <c>Authorization: Bearer</c>; Anthropic clients: <c>x-api-key</c>) and finds its caller.
/// </summary>
internal sealed class RelayKeyAuthenticator(
    IOptionsMonitor<ModelRelayOptions> options, CreatedKeyLookup? createdKeys = null, IServiceProvider? services = null, TimeProvider? time = null)
{
    /// <summary>How long a configured key's open ledger account is taken as open before the ledger is read again.</summary>
    public static readonly TimeSpan ClosedCheckInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _openUntil = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _closed = new(StringComparer.Ordinal);
    private RelayKeyRing? _ring;

    /// <summary>
    /// The caller of a configured key or, when the operations API is added, of a key created at run time
    /// that is neither expired nor revoked; else the error to answer (no key, an unknown key). A closed
    /// (refunded) key is refused with <c>key_closed</c> unless <paramref name="allowClosed"/> is set, for the
    /// endpoints where a key only reads its own past usage. A request may carry both headers (an Anthropic SDK with
    /// an <c>Authorization</c> header added by its host, say): it is let in when either holds a valid relay key, and
    /// the one native to <paramref name="native"/> (<c>x-api-key</c> for Anthropic, the bearer token for OpenAI)
    /// wins when both do.
    /// </summary>
    public async ValueTask<RelayAuthentication> AuthenticateAsync(
        HttpRequest request, CancellationToken cancellationToken, WireFormat native = WireFormat.OpenAI, bool allowClosed = false)
    {
        var caller = await FindAsync(request, native, cancellationToken);
        if (caller is null)
        {
            return new(null, request.Headers.ContainsKey("Authorization") || request.Headers.ContainsKey("x-api-key")
                ? RelayError.UnknownKey()
                : RelayError.MissingKey());
        }

        if (!caller.Closed && await IsClosedConfiguredKeyAsync(caller.KeyName, cancellationToken))
        {
            caller = new RelayCaller(caller.KeyName, caller.Models, closed: true);
        }

        return caller.Closed && !allowClosed ? new(null, RelayError.KeyClosed()) : new(caller, null);
    }

    /// <summary>
    /// Whether a key configured with a <c>Budget</c> was refunded: its ledger account alone knows, so it is read (an
    /// open account at most every <see cref="ClosedCheckInterval"/>; a closed one stays closed) and the key is
    /// refused like a closed created key.
    /// </summary>
    private async ValueTask<bool> IsClosedConfiguredKeyAsync(string keyName, CancellationToken cancellationToken)
    {
        if (_closed.ContainsKey(keyName)
            || services?.GetService(typeof(IBudgetLedger)) is not IBudgetLedger ledger
            || !options.CurrentValue.Keys.Any(k => k?.Budget is not null && string.Equals(k.Name, keyName, StringComparison.Ordinal)))
        {
            return _closed.ContainsKey(keyName);
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        if (_openUntil.TryGetValue(keyName, out var until) && now < until)
        {
            return false;
        }

        BudgetBalance? balance;
        try
        {
            balance = await ledger.GetBalanceAsync(keyName, cancellationToken);
        }
        catch (Exception exception) when (Hosting.StoreFailures.Is(exception) && !cancellationToken.IsCancellationRequested)
        {
            // The ledger is down or slow: let the caller in as open, and check again on its next request. A refunded
            // key still gets nothing: its account refuses the reservation every request with a budget makes (the
            // ledger's answer then, or a 503 while it is down, recorded for the known caller). Refusing here instead
            // would answer a 503 that no usage record shows, as the caller is not known until authenticated.
            return false;
        }

        if (balance?.Closed == true)
        {
            _closed[keyName] = true;
            return true;
        }

        _openUntil[keyName] = now + ClosedCheckInterval;
        return false;
    }

    private ValueTask<RelayCaller?> FindAsync(HttpRequest request, WireFormat native, CancellationToken cancellationToken)
    {
        // Not async: each secret is read in place from its header (a span), so it is hashed before anything is awaited.
        var bearer = ReadBearer(request);
        var apiKey = request.Headers["x-api-key"].ToString().AsSpan().Trim();
        var first = native == WireFormat.Anthropic ? apiKey : bearer;
        var second = native == WireFormat.Anthropic ? bearer : apiKey;
        if (first.IsEmpty)
        {
            first = second;
            second = [];
        }

        if (first.IsEmpty)
        {
            return ValueTask.FromResult<RelayCaller?>(null);
        }

        var ring = Ring;
        var configured = ring.Find(first) ?? (second.IsEmpty ? null : ring.Find(second));
        if (configured is not null || createdKeys is null)
        {
            return ValueTask.FromResult(configured);
        }

        var firstHash = RelayKeyHash.Compute(first);
        var secondHash = second.IsEmpty ? null : RelayKeyHash.Compute(second);
        return secondHash is null ? createdKeys.FindAsync(firstHash, cancellationToken) : FindEitherAsync(firstHash, secondHash, cancellationToken);
    }

    private async ValueTask<RelayCaller?> FindEitherAsync(byte[] first, byte[] second, CancellationToken cancellationToken) =>
        await createdKeys!.FindAsync(first, cancellationToken) ?? await createdKeys.FindAsync(second, cancellationToken);

    private RelayKeyRing Ring
    {
        get
        {
            var current = options.CurrentValue;
            var ring = _ring;
            if (ring is null || !ReferenceEquals(ring.Source, current))
            {
                ring = new RelayKeyRing(current);
                _ring = ring;
            }

            return ring;
        }
    }

    /// <summary>The bearer token as it stands in the header (trimmed), without copying it into a string; empty when there is none.</summary>
    private static ReadOnlySpan<char> ReadBearer(HttpRequest request)
    {
        const string bearer = "Bearer ";
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? authorization.AsSpan(bearer.Length).Trim() : [];
    }
}
