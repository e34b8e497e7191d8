using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The usage outbox: a table in the ledger store where each request's usage record is committed in the same transaction
/// as its settle (<see cref="IBudgetLedger.SettleAsync(SettleOrder, CancellationToken)"/>), so neither a charge nor its
/// record exists without the other, and a crash loses neither. The <see cref="UsageWriterService"/> drains it into the
/// usage store (whose append is idempotent by request id) and deletes what it wrote.
/// </summary>
/// <remarks>
/// In use when the relay keeps a ledger (a key has a <c>Budget</c>, or keys are created through the operations API) and
/// stores usage: then unmetered requests put their record there too, through a ledger unit of their own. Otherwise
/// records take the in-memory queue as before (<see cref="UsageQueue"/>); the store and ledger are resolved on first use.
/// </remarks>
internal sealed class UsageOutbox(IServiceProvider services, IOptions<UsageOptions> usage, IOptionsMonitor<ModelRelayOptions> relay)
{
    private readonly SemaphoreSlim _written = new(0, 1);
    private bool? _enabled;

    /// <summary>Whether records go through the outbox (see the remarks).</summary>
    public bool Enabled => _enabled ??= usage.Value.Store != UsageStoreKind.None
        && services.GetService<IServiceProviderIsService>() is { } registered
        && registered.IsService(typeof(IBudgetLedger))
        && registered.IsService(typeof(ILedgerStore))
        && relay.CurrentValue.Enabled
        && (relay.CurrentValue.Keys.Any(k => k.Budget is not null) || registered.IsService(typeof(IRelayKeyStore)));

    /// <summary>The ledger store holding the outbox.</summary>
    public ILedgerStore Store => services.GetRequiredService<ILedgerStore>();

    /// <summary>The ledger, for records of requests that settle nothing.</summary>
    public IBudgetLedger Ledger => services.GetRequiredService<IBudgetLedger>();

    /// <summary>Tells the drainer a record was committed to the outbox.</summary>
    public void Written()
    {
        // Once per request: while the drainer has been told already (the usual case under load), only a read. Without
        // the check every such call threw and caught SemaphoreFullException (3 % of the relay's running time).
        if (_written.CurrentCount > 0)
        {
            return;
        }

        try
        {
            _written.Release();
        }
        catch (SemaphoreFullException)
        {
            // Another request told it between the check and the release.
        }
    }

    /// <summary>Waits until a record was written or <paramref name="timeout"/> passed (rows other instances wrote, rows left by a crash).</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _written.WaitAsync(timeout, cancellationToken);
}
