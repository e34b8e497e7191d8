using System.Diagnostics;
using System.Globalization;

namespace RelayKit.LoadBench;

/// <summary>
/// One server of the separate-process mode, run as a child of the bench (<see cref="ServeCommand"/>): its address,
/// and its counters, CPU time read from <c>/proc/&lt;pid&gt;/stat</c> by the parent (nothing the child does to report
/// it is counted), the rest asked of the child over stdin between phases.
/// </summary>
internal sealed class ChildServer : ProcessProbe, IAsyncDisposable
{
    // utime and stime in /proc/<pid>/stat are in clock ticks of sysconf(_SC_CLK_TCK), 100 per second on Linux.
    private const double ClockTicksPerSecond = 100;
    private readonly Process _process;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private ChildServer(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts <c>serve <paramref name="arguments"/></c> in a new process and waits until it listens.</summary>
    public static async Task<ChildServer> StartAsync(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };

        // Under `dotnet run` the process path is the app host; under `dotnet RelayKit.LoadBench.dll` it is dotnet itself.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ChildServer).Assembly.Location);
        }

        start.ArgumentList.Add("serve");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The server process did not start.");
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The server process said '{line}' instead of its address.");
        }

        return new ChildServer(process, new Uri(line["listening ".Length..]));
    }

    /// <summary>Sends one command and returns its one-line answer.</summary>
    public async Task<string> AskAsync(string command)
    {
        await _gate.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await _process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("The server process exited.");
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async ValueTask<ProcessStats> ReadAsync(bool collect)
    {
        var cpu = CpuTime();
        var answer = (await AskAsync(collect ? "stats collect" : "stats")).Split(' ');
        return new ProcessStats(
            cpu,
            long.Parse(answer[0], CultureInfo.InvariantCulture),
            TimeSpan.FromTicks(long.Parse(answer[1], CultureInfo.InvariantCulture)),
            WorkingSet(),
            long.Parse(answer[2], CultureInfo.InvariantCulture));
    }

    /// <summary>User + kernel CPU time of every thread of the process so far (fields 14 and 15 of /proc/&lt;pid&gt;/stat).</summary>
    private TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");

        // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / ClockTicksPerSecond);
    }

    /// <summary>The resident set (VmRSS of /proc/&lt;pid&gt;/status), in bytes.</summary>
    private long WorkingSet()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        _gate.Dispose();
    }
}
