using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.Benchmarks;

/// <summary>Steps 4 and 7: hold the worst case, then charge the real cost and release the rest.</summary>
[MemoryDiagnoser]
public class LedgerBenchmarks
{
    private const string KeyId = "bench";
    private string _directory = "";
    private ILedgerStore _store = null!;
    private IBudgetLedger _ledger = null!;
    private long _request;

    /// <summary>The store; "Sqlite+leases" is the SQLite store under reservation leases (the relay's default on SQLite).</summary>
    [Params("InMemory", "Sqlite", "Sqlite+leases")]
    public string Store { get; set; } = "InMemory";

    [GlobalSetup]
    public async Task Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "relaykit-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _store = Store.StartsWith("Sqlite", StringComparison.Ordinal)
            ? new SqliteLedgerStore(Path.Combine(_directory, "ledger.db"))
            : new InMemoryLedgerStore();
        var ledger = new BudgetLedger(_store, TimeProvider.System, NullLogger<BudgetLedger>.Instance);
        _ledger = Store.EndsWith("+leases", StringComparison.Ordinal)
            ? new LeasedBudgetLedger(ledger, TimeProvider.System, 32, NullLogger<LeasedBudgetLedger>.Instance)
            : ledger;
        await _ledger.TopUpAsync(KeyId, 1_000_000_000m, "bench-top-up");
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        if (_ledger is IAsyncDisposable leases)
        {
            await leases.DisposeAsync();
        }

        (_store as IDisposable)?.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>What one request costs the ledger when it is alone.</summary>
    [Benchmark(Description = "reserve + settle")]
    public Task<bool> ReserveAndSettle() => ReserveAndSettleOnceAsync();

    /// <summary>The same with 16 requests at once, as under load: the SQLite store commits them in batches.</summary>
    [Benchmark(Description = "reserve + settle, 16 at once (per request)", OperationsPerInvoke = Concurrent)]
    public async Task<int> ReserveAndSettleConcurrently()
    {
        var requests = new Task<bool>[Concurrent];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = Task.Run(ReserveAndSettleOnceAsync);
        }

        var results = await Task.WhenAll(requests);
        return results.Count(granted => granted);
    }

    private const int Concurrent = 16;

    internal async Task<bool> ReserveAndSettleOnceAsync()
    {
        var requestId = "req-" + Interlocked.Increment(ref _request).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var reserved = await _ledger.TryReserveAsync(KeyId, requestId, 0.0125m, DateTimeOffset.UtcNow.AddMinutes(10));
        var settled = await _ledger.SettleAsync(requestId, 0.0031m);
        return reserved.Granted && settled is not null;
    }
}
