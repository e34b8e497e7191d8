using System.Diagnostics;

namespace RelayKit.Benchmarks;

/// <summary>
/// CPU time per generated answer of the fake (process CPU, every thread, over many sequential requests
/// through the in-memory handler). On a shared machine wall-clock means swing with other load; the
/// process's own CPU time per request is the steadier figure, and it is the one the ≤ 100 µs target is about.
/// </summary>
internal static class FakeAnswerCpu
{
    // Many short rounds, reported by the cheapest and the median: other processes' load only ever adds to a round.
    private const int Rounds = 21;


    /// <param name="requests">Requests per measured round.</param>
    /// <param name="only">Runs only the answers whose name contains this (such as <c>stream</c>), for a profiler.</param>
    public static async Task RunAsync(int requests, string? only)
    {
        var bench = new FakeAnswerBenchmarks();
        await bench.Setup();
        try
        {
            (string Name, Func<Task<int>> Send)[] answers =
            [
                ("generated chat answer, JSON", bench.GeneratedJson),
                ("generated chat answer, stream", bench.GeneratedStream),
                ("generated Responses answer, JSON (stored)", bench.GeneratedResponse),
                ("handler only, generated chat answer, JSON", bench.HandlerJson),
                ("handler only, generated chat answer, stream", bench.HandlerStream),
            ];
            answers = [.. answers.Where(a => only is null || a.Name.Contains(only, StringComparison.OrdinalIgnoreCase))];

            // Warm every answer up before measuring any, for a few seconds each, until tiered compilation has
            // settled (its background compiles count as CPU time) and the runtime has sized its heap and pool;
            // measured first, an answer otherwise paid for the process's own start.
            foreach (var (_, send) in answers)
            {
                var warmup = Stopwatch.StartNew();
                while (warmup.Elapsed < TimeSpan.FromSeconds(3))
                {
                    await send();
                }
            }

            Console.WriteLine($"{"answer",-45} {"CPU µs/req",10} {"median",10} {"wall µs/req",11} {"alloc KB/req",12}");
            foreach (var (name, send) in answers)
            {
                await MeasureAsync(name, send, requests);
            }
        }
        finally
        {
            await bench.Cleanup();
        }
    }

    private static Task MeasureAsync(string name, Func<Task<int>> send, int requests) =>
        CpuRounds.MeasureAsync(name, 45, async () =>
        {
            for (var i = 0; i < requests; i++)
            {
                await send();
            }
        }, requests, Rounds);
}
