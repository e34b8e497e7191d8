namespace RelayKit.LoadBench;

/// <summary>One target's samples over the rounds of a phase, with the time and allocation they took.</summary>
internal sealed class PhaseAccumulator
{
    public PhaseRecorder Recorder { get; } = new();

    public TimeSpan Elapsed { get; set; }

    public long AllocatedBytes { get; set; }

    /// <summary>CPU time of the whole process (user + kernel, all threads) over the phase's runs.</summary>
    public TimeSpan CpuTime { get; set; }

    /// <summary>Time the process spent paused for garbage collection over the phase's runs (all three servers and the client).</summary>
    public TimeSpan GcPause { get; set; }

    public long WorkingSet { get; set; }

    public long Heap { get; set; }

    /// <summary>wrk's reports when wrk sent the load (the recorder then holds no samples).</summary>
    public List<WrkSummary> Wrk { get; } = [];

    /// <summary>The phase's rounds, each measured on its own (empty for a phase run in one piece).</summary>
    public List<PhaseAccumulator> Rounds { get; } = [];

    /// <summary>Adds a round: its samples and totals count toward the phase, and it is kept to be reported on its own.</summary>
    public void Add(PhaseAccumulator round)
    {
        Recorder.AddFrom(round.Recorder);
        Elapsed += round.Elapsed;
        AllocatedBytes += round.AllocatedBytes;
        CpuTime += round.CpuTime;
        GcPause += round.GcPause;
        WorkingSet = round.WorkingSet;
        Heap = round.Heap;
        Wrk.AddRange(round.Wrk);
        Rounds.Add(round);
    }

    public PhaseResult ToResult(string target, bool stream, string load) =>
        (Wrk.Count > 0
            ? PhaseResult.FromWrk(target, stream, load, WrkSummary.Merge(Wrk), Elapsed, AllocatedBytes, CpuTime, GcPause, WorkingSet, Heap)
            : PhaseResult.From(target, stream, load, Recorder, Elapsed, AllocatedBytes, CpuTime, GcPause, WorkingSet, Heap))
            with { Rounds = [.. Rounds.Select(round => round.ToResult(target, stream, load))] };
}
