using System.Diagnostics;

namespace RelayKit.LoadBench;

/// <summary>
/// The bench's own process: in the in-process mode every server and the client share it, so its counters are the
/// whole process's (client + fake + YARP or relay), as the in-process table says.
/// </summary>
internal sealed class OwnProcessProbe : ProcessProbe
{
    public static OwnProcessProbe Instance { get; } = new();

    public override ValueTask<ProcessStats> ReadAsync(bool collect)
    {
        if (collect)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        using var process = Process.GetCurrentProcess();
        return ValueTask.FromResult(new ProcessStats(
            Environment.CpuUsage.TotalTime,
            GC.GetTotalAllocatedBytes(precise: true),
            GC.GetTotalPauseDuration(),
            process.WorkingSet64,
            collect ? GC.GetTotalMemory(forceFullCollection: false) : 0));
    }
}
