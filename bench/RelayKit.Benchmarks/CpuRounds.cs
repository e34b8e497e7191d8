using System.Diagnostics;

namespace RelayKit.Benchmarks;

/// <summary>
/// Measures work by the process's own CPU time (every thread) over many short rounds and prints the cheapest and the
/// median round: other processes' load only ever adds to a round, so the cheapest is the steadiest figure on a shared
/// machine. Used by <see cref="FakeAnswerCpu"/> and <see cref="LedgerCpu"/>.
/// </summary>
internal static class CpuRounds
{
    /// <summary>Runs <paramref name="round"/> <paramref name="rounds"/> times and prints one line per request of it.</summary>
    /// <param name="requests">How many requests one round makes, to divide by.</param>
    public static async Task MeasureAsync(string name, int nameWidth, Func<Task> round, int requests, int rounds)
    {
        var results = new List<(double Cpu, double Wall, double Alloc)>();
        for (var i = 0; i < rounds; i++)
        {
            GC.Collect();
            var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            await round();
            clock.Stop();
            process.Refresh();
            results.Add((
                (process.TotalProcessorTime - cpu).TotalMicroseconds / requests,
                clock.Elapsed.TotalMicroseconds / requests,
                (GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1024.0 / requests));
        }

        var best = results.MinBy(r => r.Cpu);
        var median = results.OrderBy(r => r.Cpu).ElementAt(results.Count / 2).Cpu;
        Console.WriteLine($"{name.PadRight(nameWidth)} {best.Cpu,10:F1} {median,10:F1} {best.Wall,11:F1} {best.Alloc,12:F1}");
    }
}
