using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// Reservation leases: takes a key's reservations off the request path. The first request of a key reserves a block
/// of its balance in the store (a lease: an ordinary reservation, <see cref="BudgetStorageOptions.LeaseRequests"/>
/// times the request's worst case); the requests after it are held out of that block in memory, and each one's
/// settle (or release) is the one store write it makes: it records the request's reservation and charge and moves
/// its hold out of the lease, in one unit (<see cref="BudgetLedger.SettleCarvedAsync"/>).
/// </summary>
/// <remarks>
/// <para>
/// Why: a reservation must be durable before the request goes upstream, and with an embedded SQLite file that
/// commit was the largest part of what the relay added to a request (bench/README.md). With a lease, the commit
/// that makes a hold durable is the lease's, made once for many requests.
/// </para>
/// <para>
/// The money rules do not change. A block is a real reservation, so every instance on the same store still sees
/// it held and nothing is spent past the balance; no request is held beyond its lease's unused rest. When the
/// lease cannot be renewed (the balance is short), the key's unused lease rests are given back and the request
/// reserves on its own, so within one instance a request is refused exactly when it would be without leases.
/// Across instances sharing a store, another instance's lease holds its unused rest until that instance is idle
/// for <see cref="IdleTimeout"/>, so a request may be refused meanwhile although the money is not spent: with
/// several instances that must refuse to the cent, set <see cref="BudgetStorageOptions.LeaseRequests"/> to 0
/// (the default for PostgreSQL).
/// </para>
/// <para>
/// A crash: the requests in flight were never recorded (their holds live in the lease), so, as with single
/// reservations, nothing is charged for them and the lease's whole hold is released when it expires: one
/// <see cref="LeaseWindow"/> after the lifetime of the last request it may hold. Request ids must not repeat
/// (the relay makes each one new): a carved request is checked against the requests in flight, not the store.
/// A carved request whose settle failed and went to the settle spool keeps its lease facts there
/// (<see cref="SettleOrder.Carve"/>), so it lands after a restart as if it had reserved alone.
/// </para>
/// </remarks>
internal sealed partial class LeasedBudgetLedger : IBudgetLedger, IAsyncDisposable
{
    /// <summary>How long a lease takes new requests: a request's hold must end before its lease expires.</summary>
    internal static readonly TimeSpan LeaseWindow = TimeSpan.FromMinutes(1);

    /// <summary>A lease no request used for this long is given back (checked on a timer of this period).</summary>
    internal static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(1);

    // Below this many requests' worth of available balance no lease is taken: the request reserves on its own.
    private const int MinLeaseRequests = 2;

    private readonly BudgetLedger _ledger;
    private readonly TimeProvider _time;
    private readonly int _leaseRequests;
    private readonly ILogger<LeasedBudgetLedger> _logger;
    private readonly ConcurrentDictionary<string, KeyLeases> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Carve> _carves = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _returns = new();
    private readonly ITimer _idleTimer;
    private volatile bool _disposed;

    /// <summary>Creates leases over <paramref name="ledger"/>, each <paramref name="leaseRequests"/> requests' worst case.</summary>
    public LeasedBudgetLedger(BudgetLedger ledger, TimeProvider time, int leaseRequests, ILogger<LeasedBudgetLedger> logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(leaseRequests, 1);
        _ledger = ledger;
        _time = time;
        _leaseRequests = leaseRequests;
        _logger = logger;
        _idleTimer = time.CreateTimer(_ => ReturnIdleLeases(), null, IdleTimeout, IdleTimeout);
    }

    /// <inheritdoc />
    /// <remarks>
    /// For a request held out of a lease, <see cref="ReservationResult.Available"/> is what the lease has left, a lower
    /// bound of the key's available balance (the store is not read for it).
    /// </remarks>
    public async Task<ReservationResult> TryReserveAsync(string keyId, string requestId, decimal amount, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        ObjectDisposedException.ThrowIf(_disposed, this);
        amount = BudgetLedger.Held(amount);

        var key = _keys.GetOrAdd(keyId, static id => new KeyLeases(id));
        if (TryCarve(key, requestId, amount, expiresAt, out var carved))
        {
            RenewIfLow(key, amount, expiresAt);
            return carved;
        }

        // One renewal per key at a time; requests that queued behind it carve from the lease it took.
        await key.Renewal.WaitAsync(cancellationToken);
        try
        {
            if (TryCarve(key, requestId, amount, expiresAt, out carved))
            {
                return carved;
            }

            var size = amount * _leaseRequests;
            if (size == 0m)
            {
                return await _ledger.TryReserveAsync(keyId, requestId, amount, expiresAt, cancellationToken);
            }

            var refused = await TakeLeaseAsync(key, size, expiresAt);
            if (refused is { Status: ReservationStatus.InsufficientBalance })
            {
                // Short of a whole lease: give back what this instance holds unused, then lease what is left if that is
                // still worth it, else the request reserves on its own, exactly as it would without leases.
                var available = await GiveBackUnusedAsync(key) ?? refused.Available;
                refused = available >= amount * MinLeaseRequests
                    ? await TakeLeaseAsync(key, Math.Min(size, available), expiresAt)
                    : refused;
                if (refused is not null)
                {
                    return await _ledger.TryReserveAsync(keyId, requestId, amount, expiresAt, cancellationToken);
                }
            }
            else if (refused is not null)
            {
                // No account, or a closed one: the request would be refused the same.
                return refused;
            }

            // A lease just taken holds at least this request and outlives it.
            return TryCarve(key, requestId, amount, expiresAt, out carved)
                ? carved
                : await _ledger.TryReserveAsync(keyId, requestId, amount, expiresAt, cancellationToken);
        }
        finally
        {
            key.Renewal.Release();
        }
    }

    /// <inheritdoc />
    public Task<SettlementResult> SettleAsync(string requestId, decimal actualCost, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentOutOfRangeException.ThrowIfNegative(actualCost);
        actualCost = BudgetLedger.Charged(actualCost);
        return _carves.TryGetValue(requestId, out var carve)
            ? EndCarveAsync(carve, actualCost, cancellationToken)
            : _ledger.SettleAsync(requestId, actualCost, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A request still held out of a lease in this process ends as <see cref="SettleAsync(string, decimal, CancellationToken)"/>
    /// ends it; one this process no longer holds (a settle that lands after a restart) is recorded from the facts the
    /// order kept (<see cref="SettleOrder.Carve"/>), as if it had reserved alone.
    /// </remarks>
    public Task<SettlementResult> SettleAsync(SettleOrder order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        return _carves.TryGetValue(order.RequestId, out var carve)
            ? EndCarveAsync(carve, order.Charge is { } cost ? BudgetLedger.Charged(cost) : null, cancellationToken, order.Record)
            : _ledger.SettleAsync(order, cancellationToken);
    }

    /// <inheritdoc />
    public Task RecordUsageAsync(UsageRecord record, CancellationToken cancellationToken = default) =>
        _ledger.RecordUsageAsync(record, cancellationToken);

    /// <inheritdoc />
    public CarvedHold? FindCarve(string requestId) =>
        _carves.TryGetValue(requestId, out var carve)
            ? new CarvedHold(carve.Lease.Id, carve.Lease.KeyId, carve.Amount, carve.CreatedAt, carve.ExpiresAt)
            : null;

    /// <inheritdoc />
    public Task<SettlementResult> ReleaseAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        return _carves.TryGetValue(requestId, out var carve)
            ? EndCarveAsync(carve, null, cancellationToken)
            : _ledger.ReleaseAsync(requestId, cancellationToken);
    }

    /// <inheritdoc />
    public Task<CreditResult> TopUpAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default) =>
        _ledger.TopUpAsync(keyId, amount, reference, cancellationToken);

    /// <inheritdoc />
    public Task<CreditResult> GrantFreeCreditAsync(string keyId, decimal amount, string reference, CancellationToken cancellationToken = default) =>
        _ledger.GrantFreeCreditAsync(keyId, amount, reference, cancellationToken);

    /// <inheritdoc />
    /// <remarks>This instance's unused lease rests are given back first, so the refund pays them out.</remarks>
    public async Task<CreditResult> RefundAsync(string keyId, string reference, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        if (_keys.TryGetValue(keyId, out var key))
        {
            await key.Renewal.WaitAsync(cancellationToken);
            try
            {
                await GiveBackUnusedAsync(key);
                return await _ledger.RefundAsync(keyId, reference, cancellationToken);
            }
            finally
            {
                key.Renewal.Release();
            }
        }

        return await _ledger.RefundAsync(keyId, reference, cancellationToken);
    }

    /// <inheritdoc />
    public Task<int> ReleaseExpiredAsync(CancellationToken cancellationToken = default) => _ledger.ReleaseExpiredAsync(cancellationToken);

    /// <inheritdoc />
    /// <remarks>What this instance's leases hold unused is not counted as reserved: it is available to its requests.</remarks>
    public async Task<BudgetBalance?> GetBalanceAsync(string keyId, CancellationToken cancellationToken = default)
    {
        var balance = await _ledger.GetBalanceAsync(keyId, cancellationToken);
        if (balance is null || !_keys.TryGetValue(keyId, out var key))
        {
            return balance;
        }

        decimal unused;
        lock (key)
        {
            unused = key.Leases.Where(l => l.Open).Sum(l => l.Amount - l.Carved);
        }

        return balance with { Reserved = Math.Max(0m, balance.Reserved - unused) };
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
        _ledger.GetEntriesAsync(keyId, afterSequence, limit, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
        _ledger.GetCreditsAsync(keyId, afterSequence, limit, cancellationToken);

    /// <inheritdoc />
    /// <remarks>A request in flight on a lease is not in the store yet; it is answered from memory as open.</remarks>
    public Task<BudgetReservation?> GetReservationAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        return _carves.TryGetValue(requestId, out var carve)
            ? Task.FromResult<BudgetReservation?>(new BudgetReservation(requestId, carve.Lease.KeyId, carve.Amount, ReservationState.Open, null, null, carve.CreatedAt, carve.ExpiresAt))
            : _ledger.GetReservationAsync(requestId, cancellationToken);
    }

    /// <summary>
    /// Gives back every lease: whole when no request holds part of it, else its unused rest (the rest is released
    /// when the lease expires, as a crash's would be).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _idleTimer.DisposeAsync();
        foreach (var key in _keys.Values)
        {
            await key.Renewal.WaitAsync();
            try
            {
                await GiveBackUnusedAsync(key);
            }
            catch (Exception exception)
            {
                LogReturnFailed(exception, Usage.LogValue.OfKeyName(key.KeyId)!);
            }
            finally
            {
                key.Renewal.Release();
            }
        }

        await Task.WhenAll(_returns.Keys);
    }

    private bool TryCarve(KeyLeases key, string requestId, decimal amount, DateTimeOffset expiresAt, out ReservationResult result)
    {
        lock (key)
        {
            var lease = key.Current;
            if (lease is null || !lease.Open || lease.ExpiresAt < expiresAt || lease.Amount - lease.Carved < amount)
            {
                result = null!;
                return false;
            }

            var carve = new Carve(lease, requestId, amount, _time.GetUtcNow(), expiresAt);
            if (!_carves.TryAdd(requestId, carve))
            {
                result = new ReservationResult(ReservationStatus.DuplicateRequest, lease.Amount - lease.Carved);
                return true;
            }

            lease.Carved += amount;
            lease.InFlight++;
            lease.UsedSinceTick = true;
            result = new ReservationResult(ReservationStatus.Granted, lease.Amount - lease.Carved);
            return true;
        }
    }

    /// <summary>
    /// When the current lease has a quarter or less of its block left, takes the next one in the background, so that
    /// the requests that come when it runs out carve at once instead of waiting for a store write. Best effort: when a
    /// renewal is already under way, or the balance is short of a whole block, the requests take the usual path.
    /// </summary>
    private void RenewIfLow(KeyLeases key, decimal amount, DateTimeOffset expiresAt)
    {
        lock (key)
        {
            if (key.Renewing || key.Current is not { IsLow: true })
            {
                return;
            }

            key.Renewing = true;
        }

        TrackReturn(RenewAsync(key, amount * _leaseRequests, expiresAt));
    }

    private async Task RenewAsync(KeyLeases key, decimal size, DateTimeOffset expiresAt)
    {
        try
        {
            if (_disposed || !await key.Renewal.WaitAsync(0))
            {
                return;
            }

            try
            {
                lock (key)
                {
                    // Another renewal may have come first.
                    if (_disposed || key.Current is not { IsLow: true })
                    {
                        return;
                    }
                }

                // The current block serves requests until the new one is in place (a refusal leaves it as it is).
                await TakeLeaseAsync(key, size, expiresAt, retireFirst: false);
            }
            finally
            {
                key.Renewal.Release();
            }
        }
        catch (Exception exception)
        {
            // Nothing depends on it: the next request that finds the block empty takes the usual path.
            LogRenewFailed(exception, Usage.LogValue.OfKeyName(key.KeyId)!);
        }
        finally
        {
            lock (key)
            {
                key.Renewing = false;
            }
        }
    }

    /// <summary>Takes a new lease as the key's current one; returns null when granted, else the refusal.</summary>
    /// <remarks>
    /// Not cancelled with the request that asked for it: a lease committed in the store but dropped here (a caller gone
    /// between the commit and the answer) would hold its money until it expired. The same holds for giving back.
    /// </remarks>
    private async Task<ReservationResult?> TakeLeaseAsync(KeyLeases key, decimal size, DateTimeOffset expiresAt, bool retireFirst = true)
    {
        // A lease that can no longer serve is retired first, so that an idle one's money is back before the new one is
        // asked for: given back whole if idle, else when its last request ends.
        if (retireFirst)
        {
            RetireCurrent(key);
        }

        var id = "lease_" + Guid.CreateVersion7(_time.GetUtcNow()).ToString("N");
        var leaseExpiresAt = expiresAt + LeaseWindow;
        var result = await _ledger.TryReserveAsync(key.KeyId, id, size, leaseExpiresAt, CancellationToken.None);
        if (!result.Granted)
        {
            return result;
        }

        // The new lease becomes current; one it replaces takes no more requests and goes back when its last one ends.
        Lease? idle = null;
        lock (key)
        {
            var lease = new Lease(id, key.KeyId, size, _time.GetUtcNow(), leaseExpiresAt) { UsedSinceTick = true };
            key.Leases.Add(lease);
            var replaced = key.Current;
            key.Current = lease;
            if (replaced is { InFlight: 0 })
            {
                idle = Close(key, replaced);
            }
        }

        ReturnInBackground(idle);

        return null;
    }

    private void RetireCurrent(KeyLeases key)
    {
        Lease? idle = null;
        lock (key)
        {
            if (key.Current is { } current)
            {
                key.Current = null;
                if (current.InFlight == 0)
                {
                    idle = Close(key, current);
                }
            }
        }

        ReturnInBackground(idle);
    }

    /// <summary>Gives back the unused rest of each of the key's leases; returns the available balance after, when any was given back.</summary>
    private async Task<decimal?> GiveBackUnusedAsync(KeyLeases key)
    {
        RetireCurrent(key);
        List<(Lease Lease, decimal Unused)> shrink = [];
        lock (key)
        {
            foreach (var lease in key.Leases)
            {
                if (lease.Open && lease.Amount > lease.Carved)
                {
                    shrink.Add((lease, lease.Amount - lease.Carved));
                }
            }
        }

        decimal? available = null;
        foreach (var (lease, unused) in shrink)
        {
            available = await _ledger.ShrinkLeaseAsync(lease.Id, unused, CancellationToken.None);
            lock (key)
            {
                lease.Amount -= unused;
            }
        }

        // Returns started before (idle leases) give money back too.
        await Task.WhenAll(_returns.Keys);
        return shrink.Count > 0 ? available : null;
    }

    /// <summary>Settles (or, with no cost, releases) a carved request once; a second call gets the first one's result.</summary>
    private async Task<SettlementResult> EndCarveAsync(Carve carve, decimal? actualCost, CancellationToken cancellationToken, UsageRecord? record = null)
    {
        TaskCompletionSource<SettlementResult>? mine = null;
        Task<SettlementResult> ending;
        lock (carve)
        {
            if (carve.Ending is null)
            {
                mine = new TaskCompletionSource<SettlementResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                carve.Ending = mine.Task;
            }

            ending = carve.Ending;
        }

        if (mine is null)
        {
            var earlier = await ending;
            return earlier.Status == SettlementStatus.Applied ? earlier with { Status = SettlementStatus.AlreadySettled } : earlier;
        }

        SettlementResult result;
        try
        {
            var lease = carve.Lease;
            result = await _ledger.SettleCarvedAsync(lease.Id, lease.KeyId, carve.RequestId, carve.Amount, carve.CreatedAt, carve.ExpiresAt, actualCost, cancellationToken, record);
        }
        catch (Exception exception)
        {
            // Nothing was recorded: the hold stays in the lease, and a retried settle runs again.
            lock (carve)
            {
                carve.Ending = null;
            }

            mine.SetException(exception);
            _ = mine.Task.Exception; // observed: whoever waited on it has it, and this caller rethrows it
            throw;
        }

        var key = _keys[carve.Lease.KeyId];
        Lease? idle = null;
        lock (key)
        {
            var lease = carve.Lease;
            lease.Amount -= carve.Amount;
            lease.Carved -= carve.Amount;
            lease.InFlight--;

            // Recorded in the store now, so answered from there from here on.
            _carves.TryRemove(carve.RequestId, out _);
            if (lease.InFlight == 0 && key.Current != lease && lease.Open)
            {
                idle = Close(key, lease);
            }
        }

        ReturnInBackground(idle);

        mine.SetResult(result);
        return result;
    }

    private void ReturnIdleLeases()
    {
        foreach (var key in _keys.Values)
        {
            Lease? idle = null;
            lock (key)
            {
                if (key.Current is { } current && current.InFlight == 0 && (!current.UsedSinceTick || current.CreatedAt + LeaseWindow < _time.GetUtcNow()))
                {
                    key.Current = null;
                    idle = Close(key, current);
                }
                else if (key.Current is { } used)
                {
                    used.UsedSinceTick = false;
                }
            }

            ReturnInBackground(idle);
        }
    }

    private static Lease Close(KeyLeases key, Lease lease)
    {
        lease.Open = false;
        key.Leases.Remove(lease);
        return lease;
    }

    /// <summary>Gives a closed lease back to the store without anyone waiting for it (disposal and renewals do).</summary>
    private void ReturnInBackground(Lease? lease)
    {
        if (lease is not null)
        {
            TrackReturn(ReturnAsync(lease));
        }
    }

    private async Task ReturnAsync(Lease lease)
    {
        try
        {
            await _ledger.ReleaseAsync(lease.Id, CancellationToken.None);
        }
        catch (Exception exception)
        {
            // The lease stays held in the store until it expires; nothing is charged for it.
            LogReturnFailed(exception, Usage.LogValue.OfKeyName(lease.KeyId)!);
        }
    }

    private void TrackReturn(Task task)
    {
        _returns.TryAdd(task, 0);
        _ = task.ContinueWith(static (done, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(done, out _), _returns, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Giving back a budget lease of key {KeyName} failed; its hold is released when it expires.")]
    private partial void LogReturnFailed(Exception exception, string keyName);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Renewing the budget lease of key {KeyName} ahead of need failed; its requests reserve the usual way.")]
    private partial void LogRenewFailed(Exception exception, string keyName);

    /// <summary>A key's leases; locked (the object itself) while its amounts change.</summary>
    private sealed class KeyLeases(string keyId)
    {
        public string KeyId { get; } = keyId;

        public SemaphoreSlim Renewal { get; } = new(1, 1);

        /// <summary>The lease new requests are held out of, if any.</summary>
        public Lease? Current { get; set; }

        /// <summary>A renewal ahead of need is under way (<see cref="RenewIfLow"/>).</summary>
        public bool Renewing { get; set; }

        /// <summary>Every open lease of the key: the current one and retired ones whose requests are still in flight.</summary>
        public List<Lease> Leases { get; } = [];
    }

    /// <summary>One lease as this instance sees it.</summary>
    private sealed class Lease(string id, string keyId, decimal amount, DateTimeOffset createdAt, DateTimeOffset expiresAt)
    {
        public string Id { get; } = id;

        /// <summary>The block as it was taken.</summary>
        public decimal Size { get; } = amount;

        public string KeyId { get; } = keyId;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        /// <summary>What the lease holds in the store now.</summary>
        public decimal Amount { get; set; } = amount;

        /// <summary>The part of <see cref="Amount"/> held by requests in flight.</summary>
        public decimal Carved { get; set; }

        public int InFlight { get; set; }

        /// <summary>Still held in the store (not being given back).</summary>
        public bool Open { get; set; } = true;

        public bool UsedSinceTick { get; set; }

        /// <summary>A quarter or less of the block is left for new requests: time to take the next one (read under the key's lock).</summary>
        public bool IsLow => Amount - Carved <= Size / 4;
    }

    /// <summary>A request held out of a lease.</summary>
    private sealed class Carve(Lease lease, string requestId, decimal amount, DateTimeOffset createdAt, DateTimeOffset expiresAt)
    {
        public Lease Lease { get; } = lease;

        public string RequestId { get; } = requestId;

        public decimal Amount { get; } = amount;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        /// <summary>The settle or release under way or done; null until one starts (or after one failed).</summary>
        public Task<SettlementResult>? Ending { get; set; }
    }
}
