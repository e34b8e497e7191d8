namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// A ledger store in process memory, for tests and for hosts that do not need balances to survive
/// a restart. One unit of work at a time; its writes are applied only when it completes, so a
/// failed unit leaves nothing behind, like a rolled-back transaction.
/// </summary>
internal sealed class InMemoryLedgerStore : ILedgerStore, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, LedgerAccount> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BudgetReservation> _reservations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BudgetEntry> _byReference = new(StringComparer.Ordinal);
    private readonly List<BudgetEntry> _entries = [];
    private readonly Dictionary<string, string> _outbox = new(StringComparer.Ordinal);
    private readonly List<string> _outboxOrder = [];

    /// <inheritdoc />
    public async Task<T> RunAsync<T>(Func<ILedgerSession, ValueTask<T>> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var session = new Session(this);
            var result = await work(session);
            session.Commit();
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> FindExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _reservations.Values
                .Where(r => r.State == ReservationState.Open && r.ExpiresAt <= now)
                .OrderBy(r => r.ExpiresAt)
                .Take(limit)
                .Select(r => r.RequestId)
                .ToList();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BudgetEntry>> GetEntriesAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _entries.Where(e => e.KeyId == keyId && e.Sequence > afterSequence).Take(limit).ToList();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<BudgetEntry>> GetCreditsAsync(string keyId, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _entries.Where(e => e.KeyId == keyId && e.Sequence > afterSequence && e.Reference is not null).Take(limit).ToList();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OutboxRecord>> ReadOutboxAsync(int limit, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _outboxOrder.Take(limit).Select(id => new OutboxRecord(id, _outbox[id])).ToList();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();

    private sealed class Session(InMemoryLedgerStore store) : ILedgerSession
    {
        private readonly Dictionary<string, LedgerAccount> _accounts = new(StringComparer.Ordinal);
        private readonly Dictionary<string, BudgetReservation> _reservations = new(StringComparer.Ordinal);
        private readonly List<BudgetEntry> _entries = [];
        private readonly Dictionary<string, string> _outbox = new(StringComparer.Ordinal);
        private readonly HashSet<string> _outboxDeleted = new(StringComparer.Ordinal);

        public ValueTask<LedgerAccount?> GetAccountAsync(string keyId) =>
            ValueTask.FromResult(_accounts.TryGetValue(keyId, out var pending) ? pending : store._accounts.GetValueOrDefault(keyId));

        public async ValueTask<LedgerAccount> GetOrCreateAccountAsync(string keyId, DateTimeOffset now) =>
            await GetAccountAsync(keyId) ?? (_accounts[keyId] = new LedgerAccount(keyId, 0m, 0m, 0m, false));

        public ValueTask SaveAccountAsync(LedgerAccount account, DateTimeOffset now)
        {
            _accounts[account.KeyId] = account;
            return ValueTask.CompletedTask;
        }

        public ValueTask<BudgetReservation?> GetReservationAsync(string requestId) =>
            ValueTask.FromResult(_reservations.TryGetValue(requestId, out var pending) ? pending : store._reservations.GetValueOrDefault(requestId));

        public ValueTask InsertReservationAsync(BudgetReservation reservation)
        {
            if (store._reservations.ContainsKey(reservation.RequestId) || !_reservations.TryAdd(reservation.RequestId, reservation))
            {
                throw new InvalidOperationException($"Reservation {reservation.RequestId} exists already.");
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask SaveReservationAsync(BudgetReservation reservation, DateTimeOffset now)
        {
            _reservations[reservation.RequestId] = reservation;
            return ValueTask.CompletedTask;
        }

        public ValueTask<BudgetEntry?> FindByReferenceAsync(string reference) =>
            ValueTask.FromResult(_entries.FirstOrDefault(e => e.Reference == reference) ?? store._byReference.GetValueOrDefault(reference));

        public ValueTask AppendAsync(BudgetEntry entry)
        {
            _entries.Add(entry);
            return ValueTask.CompletedTask;
        }

        public ValueTask AppendAsync(IReadOnlyList<BudgetEntry> entries)
        {
            _entries.AddRange(entries);
            return ValueTask.CompletedTask;
        }

        public ValueTask WriteOutboxAsync(string requestId, string record)
        {
            if (!store._outbox.ContainsKey(requestId))
            {
                _outbox.TryAdd(requestId, record);
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask DeleteOutboxAsync(string requestId)
        {
            _outbox.Remove(requestId);
            _outboxDeleted.Add(requestId);
            return ValueTask.CompletedTask;
        }

        public void Commit()
        {
            foreach (var id in _outboxDeleted)
            {
                if (store._outbox.Remove(id))
                {
                    store._outboxOrder.Remove(id);
                }
            }

            foreach (var (id, record) in _outbox)
            {
                store._outbox[id] = record;
                store._outboxOrder.Add(id);
            }

            foreach (var (key, account) in _accounts)
            {
                store._accounts[key] = account;
            }

            foreach (var (id, reservation) in _reservations)
            {
                store._reservations[id] = reservation;
            }

            foreach (var entry in _entries)
            {
                var stored = entry with { Sequence = store._entries.Count + 1 };
                store._entries.Add(stored);
                if (stored.Reference is not null)
                {
                    store._byReference[stored.Reference] = stored;
                }
            }
        }
    }
}
