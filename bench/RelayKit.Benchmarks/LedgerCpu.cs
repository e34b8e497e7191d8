using System.Diagnostics;

namespace RelayKit.Benchmarks;

/// <summary>
/// CPU time per reserve + settle of the ledger under load: <see cref="Concurrent"/> requests of one key in flight at a
/// time, as 32 connections keep the relay busy, so the SQLite store commits them in batches (process CPU, every thread,
/// the writer's and the checkpoints' included). BenchmarkDotNet's wall-clock means of the same work swung by more than
/// their own size on a shared 2-core machine; the process's CPU time per request is the steadier figure, reported by
/// the cheapest and the median of many short rounds, as <see cref="FakeAnswerCpu"/> does.
/// </summary>
internal static class LedgerCpu
{
    private const int Rounds = 15;
    private const int Concurrent = 32;

    /// <param name="requests">Requests per measured round.</param>
    /// <param name="only">Runs only the stores whose name contains this (such as <c>leases</c>).</param>
    public static async Task RunAsync(int requests, string? only)
    {
        Console.WriteLine($"{"store",-16} {"CPU µs/req",10} {"median",10} {"wall µs/req",11} {"alloc KB/req",12}");
        foreach (var store in new[] { "InMemory", "Sqlite", "Sqlite+leases" }.Where(s => only is null || s.Contains(only, StringComparison.OrdinalIgnoreCase)))
        {
            var bench = new LedgerBenchmarks { Store = store };
            await bench.Setup();
            try
            {
                // Warmed up until tiered compilation has settled (its compiles count as CPU time).
                var warmup = Stopwatch.StartNew();
                while (warmup.Elapsed < TimeSpan.FromSeconds(5))
                {
                    await RunConcurrentlyAsync(bench, 1_000);
                }

                await MeasureAsync(store, bench, requests);
            }
            finally
            {
                await bench.Cleanup();
            }
        }
    }

    private static Task MeasureAsync(string name, LedgerBenchmarks bench, int requests) =>
        CpuRounds.MeasureAsync(name, 16, () => RunConcurrentlyAsync(bench, requests), requests, Rounds);

    /// <summary><paramref name="requests"/> reserve + settle pairs, <see cref="Concurrent"/> in flight at any time.</summary>
    private static async Task RunConcurrentlyAsync(LedgerBenchmarks bench, int requests)
    {
        var left = requests;
        var workers = new Task[Concurrent];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(async () =>
            {
                while (Interlocked.Decrement(ref left) >= 0)
                {
                    if (!await bench.ReserveAndSettleOnceAsync())
                    {
                        throw new InvalidOperationException("A reservation was refused: the bench's balance ran out.");
                    }
                }
            });
        }

        await Task.WhenAll(workers);
    }
}
