using System.Diagnostics;
using System.Globalization;

namespace RelayKit.LoadBench;

/// <summary>
/// Runs the phases: a closed loop of N clients for saturation, an open loop at a fixed rate for latency.
/// Allocation and memory are read for the whole process (clients, fake, YARP and relay together).
/// </summary>
internal sealed class LoadDriver(RequestSender sender, LoadBenchOptions options, BenchServers servers)
{
    // An open loop that falls this far behind is past what the machine sustains; stop adding work.
    private const int MaxInFlight = 2_000;

    public async Task<PhaseResult> SaturateAsync(Target target, bool stream, TimeSpan duration)
    {
        var label = $"{target.Name,-6} {(stream ? "stream" : "json"),-6} saturation ×{options.Concurrency}";
        return await RunPhaseAsync(target, stream, $"closed ×{options.Concurrency}", label, duration, async (recorder, deadline) =>
        {
            var issued = 0;
            var workers = Enumerable.Range(0, options.Concurrency).Select(async _ =>
            {
                while (Stopwatch.GetTimestamp() < deadline && Interlocked.Increment(ref issued) <= options.MaxRequestsPerPhase)
                {
                    recorder.Add(await sender.SendAsync(target, stream, CancellationToken.None));
                }
            });
            await Task.WhenAll(workers);
        });
    }

    /// <summary>A closed loop bounded by count only: the soak's chunks.</summary>
    public async Task<PhaseResult> CountAsync(Target target, bool stream, int count, string label)
    {
        return await RunPhaseAsync(target, stream, $"{count} req", label, TimeSpan.FromHours(1), async (recorder, _) =>
        {
            var issued = 0;
            var workers = Enumerable.Range(0, options.Concurrency).Select(async _ =>
            {
                while (Interlocked.Increment(ref issued) <= count)
                {
                    recorder.Add(await sender.SendAsync(target, stream, CancellationToken.None));
                }
            });
            await Task.WhenAll(workers);
        });
    }

    public async Task<PhaseResult> FixedRateAsync(Target target, bool stream, double rate, TimeSpan duration)
    {
        var label = $"{target.Name,-6} {(stream ? "stream" : "json"),-6} fixed {rate:0} rps";
        return await RunPhaseAsync(target, stream, $"{rate:0} rps", label, duration, async (recorder, deadline) =>
        {
            var interval = Stopwatch.Frequency / rate;
            var start = Stopwatch.GetTimestamp();
            var inFlight = new List<Task>();
            var running = 0;
            for (var i = 0; i < options.MaxRequestsPerPhase; i++)
            {
                var due = start + (long)(i * interval);
                if (due >= deadline)
                {
                    break;
                }

                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait);
                }

                if (Volatile.Read(ref running) >= MaxInFlight)
                {
                    recorder.Add(new Sample(false, 0, 0, "not sent: backlog"));
                    continue;
                }

                Interlocked.Increment(ref running);
                inFlight.Add(Task.Run(async () =>
                {
                    recorder.Add(await sender.SendAsync(target, stream, CancellationToken.None));
                    Interlocked.Decrement(ref running);
                }));
            }

            await Task.WhenAll(inFlight);
        });
    }

    private async Task<PhaseResult> RunPhaseAsync(
        Target target, bool stream, string load, string label, TimeSpan duration, Func<PhaseRecorder, long, Task> drive)
    {
        // Start each phase from the same place: no requests recorded by the fake, no garbage from the last phase.
        servers.ForgetFakeRequests();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        var recorder = new PhaseRecorder();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        using var progressStop = new CancellationTokenSource();
        var progress = ShowProgressAsync(label, recorder, started, duration, progressStop.Token);

        await drive(recorder, deadline);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        await progressStop.CancelAsync();
        await progress;
        servers.ForgetFakeRequests();

        using var process = Process.GetCurrentProcess();
        var workingSet = process.WorkingSet64;
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        var result = PhaseResult.From(target.Name, stream, load, recorder, elapsed, allocated, workingSet, heap);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\r  {label,-40} {result.Requests,7} ok {result.Failed,5} failed  {result.Throughput,7:0} rps  p50 {result.P50Ms,7:0.000} ms  p99 {result.P99Ms,7:0.000} ms        "));
        return result;
    }

    private static async Task ShowProgressAsync(string label, PhaseRecorder recorder, long started, TimeSpan duration, CancellationToken stop)
    {
        var redirected = Console.IsErrorRedirected;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(redirected ? 3000 : 500));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"  {label,-40} {recorder.Completed,7} done  {recorder.Completed / elapsed.TotalSeconds,7:0} rps  {elapsed.TotalSeconds,4:0}/{duration.TotalSeconds:0} s");
                if (redirected)
                {
                    Console.Error.WriteLine(line);
                }
                else
                {
                    Console.Error.Write("\r" + line);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The phase ended.
        }
    }
}
