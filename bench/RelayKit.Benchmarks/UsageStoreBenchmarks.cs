using System.Globalization;
using BenchmarkDotNet.Attributes;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.Benchmarks;

/// <summary>
/// Step 7's usage record in the SQLite store: the writer appends the queued records in batches (<c>ModelRelay:Usage:FlushInterval</c>).
/// Each invocation makes a batch of new records (ids never repeat, as the relay's do not) and appends it; the
/// "make the records" row is that first half alone, so the difference between the two rows is the store's.
/// </summary>
[MemoryDiagnoser]
public class UsageStoreBenchmarks
{
    private const int Batch = 32;
    private static readonly DateTimeOffset At = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private string _directory = "";
    private IUsageStore _store = null!;
    private long _request;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "relaykit-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _store = new SqliteUsageStore(Path.Combine(_directory, "usage.db"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        (_store as IDisposable)?.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "make 32 records (per record)", OperationsPerInvoke = Batch)]
    public UsageRecord[] Make() => MakeBatch();

    [Benchmark(Description = "make and append 32 records (per record)", OperationsPerInvoke = Batch)]
    public Task Append() => _store.AppendAsync(MakeBatch(), CancellationToken.None);

    /// <summary>Records as a relayed chat request leaves them: counts, cost and times, no logged prompt.</summary>
    private UsageRecord[] MakeBatch()
    {
        var records = new UsageRecord[Batch];
        for (var i = 0; i < records.Length; i++)
        {
            var n = ++_request;
            records[i] = new UsageRecord
            {
                RequestId = "req_" + n.ToString(CultureInfo.InvariantCulture),
                Timestamp = At.AddMilliseconds(n),
                KeyName = "bench",
                RequestedModel = "gpt-4o-mini",
                Provider = "fake",
                UpstreamModel = "gpt-4o-mini",
                Operation = "chat",
                InputTokens = 21,
                OutputTokens = 60,
                CachedInputTokens = 0,
                Cost = 0.0000391m,
                StatusCode = 200,
                TimeToFirstByte = TimeSpan.FromMilliseconds(1.2),
                Duration = TimeSpan.FromMilliseconds(1.9),
            };
        }

        return records;
    }
}
