using System.Diagnostics;
using System.Globalization;

namespace RelayKit.LoadBench;

/// <summary>
/// Runs the phases: a closed loop of N clients (or wrk's connections) for saturation, an open loop at a fixed rate for
/// latency. CPU, allocation and memory are read from the process that serves the target
/// (<see cref="IBenchServers.ProbeOf"/>): in the in-process mode that is the whole process (clients, fake, YARP and relay
/// together), in the separate-process mode the target's own server.
/// </summary>
internal sealed class LoadDriver(RequestSender sender, LoadBenchOptions options, IBenchServers servers, string? wrk)
{
    // An open loop that falls this far behind is past what the machine sustains; stop adding work.
    private const int MaxInFlight = 2_000;

    /// <summary>
    /// Each target in turn, in <paramref name="rounds"/> rounds (direct, yarp, relay, direct, …), so that
    /// a burst of load from elsewhere on a shared machine lands on all of them rather than on one.
    /// </summary>
    public async Task<IReadOnlyList<PhaseResult>> SaturateAsync(IReadOnlyList<Target> targets, bool stream, TimeSpan duration, int rounds, string prefix = "")
    {
        var load = wrk is null ? $"closed ×{options.Concurrency}" : $"closed ×{options.Concurrency} wrk";
        return await InRoundsAsync(targets, stream, load, duration, rounds, target => $"{prefix}{target.Name,-6} {(stream ? "stream" : "json"),-6} saturation ×{options.Concurrency}",
            (target, accumulator, deadline) => wrk is null
                ? ClosedLoopAsync(target, stream, accumulator.Recorder, () => Stopwatch.GetTimestamp() < deadline, options.MaxRequestsPerPhase / rounds)
                : WrkAsync(target, stream, accumulator, duration / rounds));
    }

    /// <summary>An open loop at <paramref name="rate"/> requests per second, in rounds like <see cref="SaturateAsync"/>.</summary>
    public async Task<IReadOnlyList<PhaseResult>> FixedRateAsync(IReadOnlyList<Target> targets, bool stream, double rate, TimeSpan duration, int rounds)
    {
        var load = string.Create(CultureInfo.InvariantCulture, $"{rate:0} rps");
        return await InRoundsAsync(targets, stream, load, duration, rounds, target => $"{target.Name,-6} {(stream ? "stream" : "json"),-6} fixed {load}",
            (target, accumulator, deadline) => OpenLoopAsync(target, stream, accumulator.Recorder, rate, deadline, options.MaxRequestsPerPhase / rounds));
    }

    /// <summary>A closed loop bounded by count only: the soak's parts.</summary>
    public async Task<PhaseResult> CountAsync(Target target, bool stream, int count, string label)
    {
        var accumulator = new PhaseAccumulator();
        await RunAsync(target, accumulator, label, TimeSpan.FromHours(1), (_, _) => ClosedLoopAsync(target, stream, accumulator.Recorder, () => true, count));
        return accumulator.ToResult(target.Name, stream, $"{count} req");
    }

    private async Task<IReadOnlyList<PhaseResult>> InRoundsAsync(
        IReadOnlyList<Target> targets, bool stream, string load, TimeSpan duration, int rounds, Func<Target, string> label, Func<Target, PhaseAccumulator, long, Task> drive)
    {
        var accumulators = targets.Select(_ => new PhaseAccumulator()).ToArray();
        var slice = duration / rounds;
        for (var round = 1; round <= rounds; round++)
        {
            for (var i = 0; i < targets.Count; i++)
            {
                var target = targets[i];
                var roundLabel = rounds > 1 ? $"{label(target)} ({round}/{rounds})" : label(target);
                var thisRound = new PhaseAccumulator();
                await RunAsync(target, thisRound, roundLabel, slice, (accumulator, deadline) => drive(target, accumulator, deadline));
                accumulators[i].Add(thisRound);
            }
        }

        return targets.Select((target, i) => accumulators[i].ToResult(target.Name, stream, load)).ToList();
    }

    private async Task ClosedLoopAsync(Target target, bool stream, PhaseRecorder recorder, Func<bool> more, int maxRequests)
    {
        var issued = 0;
        var workers = Enumerable.Range(0, options.Concurrency).Select(async _ =>
        {
            while (more() && Interlocked.Increment(ref issued) <= maxRequests)
            {
                recorder.Add(await sender.SendAsync(target, stream, CancellationToken.None));
            }
        });
        await Task.WhenAll(workers);
    }

    private async Task WrkAsync(Target target, bool stream, PhaseAccumulator accumulator, TimeSpan duration) =>
        accumulator.Wrk.Add(await WrkRunner.RunAsync(wrk!, target, stream, options.Concurrency, duration));

    private async Task OpenLoopAsync(Target target, bool stream, PhaseRecorder recorder, double rate, long deadline, int maxRequests)
    {
        var interval = Stopwatch.Frequency / rate;
        var start = Stopwatch.GetTimestamp();
        var inFlight = new List<Task>();
        var running = 0;
        for (var i = 0; i < maxRequests; i++)
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
    }

    private async Task RunAsync(Target target, PhaseAccumulator accumulator, string label, TimeSpan duration, Func<PhaseAccumulator, long, Task> drive)
    {
        // Start each run from the same place: no requests recorded by the fake, no garbage from the last run.
        await servers.ForgetFakeRequestsAsync();
        var probe = servers.ProbeOf(target);
        var statsBefore = await probe.ReadAsync(collect: true);

        var recorder = accumulator.Recorder;
        var before = recorder.Completed;
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        using var progressStop = new CancellationTokenSource();
        var progress = ShowProgressAsync(label, recorder, before, started, duration, progressStop.Token);

        await drive(accumulator, deadline);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var statsAfter = await probe.ReadAsync(collect: false);
        accumulator.AllocatedBytes += statsAfter.Allocated - statsBefore.Allocated;
        accumulator.CpuTime += statsAfter.Cpu - statsBefore.Cpu;
        accumulator.GcPause += statsAfter.GcPause - statsBefore.GcPause;
        accumulator.Elapsed += elapsed;
        await progressStop.CancelAsync();
        await progress;
        await servers.ForgetFakeRequestsAsync();

        var end = await probe.ReadAsync(collect: true);
        accumulator.WorkingSet = end.WorkingSet;
        accumulator.Heap = end.Heap;
        var done = recorder.Completed - before + accumulator.Wrk.Sum(w => w.Ok + w.Failed);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\r  {label,-46} {done,7} done  {done / elapsed.TotalSeconds,7:0} rps                    "));
    }

    private static async Task ShowProgressAsync(string label, PhaseRecorder recorder, int before, long started, TimeSpan duration, CancellationToken stop)
    {
        var redirected = Console.IsErrorRedirected;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(redirected ? 3000 : 500));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                var done = recorder.Completed - before;
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"  {label,-46} {done,7} done  {done / elapsed.TotalSeconds,7:0} rps  {elapsed.TotalSeconds,4:0}/{duration.TotalSeconds:0} s");
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
