using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using RelayKit.LoadBench;

// dotnet run -c Release --project bench/RelayKit.LoadBench [-- --processes --quick | --duration s --rate rps --concurrency n --soak n (default 100000)]
if (ServeCommand.IsServe(args))
{
    return await ServeCommand.RunAsync(args);
}

LoadBenchOptions options;
try
{
    options = LoadBenchOptions.Parse(args);
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine(exception.Message);
    return 2;
}

var invariant = CultureInfo.InvariantCulture;
var loadAverage = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
Console.WriteLine(string.Create(invariant,
    $"RelayKit load bench · {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC · {RuntimeInformation.FrameworkDescription} · {RuntimeInformation.OSDescription} · " +
    $"{Environment.ProcessorCount} CPUs · GC {(GCSettings.IsServerGC ? "server" : "workstation")} · load average at start {loadAverage}"));
Console.WriteLine(string.Create(invariant,
    $"phases ({options.Rounds} rounds, targets taking turns): warm-up {options.Warmup.TotalSeconds:0} s, saturation {options.SaturationDuration.TotalSeconds:0} s with {options.Concurrency} clients, fixed rate {options.FixedDuration.TotalSeconds:0} s at {(options.Rate is { } r ? r.ToString("0", invariant) + " rps" : "30% of the slowest saturation rate")}"));

var wrk = options.Processes && !options.NoWrk ? WrkRunner.Find() : null;
await using IBenchServers servers = options.Processes
    ? await ProcessBenchServers.StartAsync(options.RelaySettings)
    : await BenchServers.StartAsync(options.RelaySettings);
Console.WriteLine($"servers: {servers.Description}; saturation load from {(wrk is null ? "this process's .NET client" : wrk)}");
foreach (var (name, value) in options.RelaySettings)
{
    Console.WriteLine($"relay setting changed for this run: {name} = {value}");
}

using var sender = new RequestSender();

// A target that does not answer 200 would make every number below meaningless.
foreach (var target in new[] { servers.Direct, servers.Yarp, servers.Relay })
{
    foreach (var stream in new[] { false, true })
    {
        var probe = await sender.SendAsync(target, stream, CancellationToken.None);
        if (!probe.Ok)
        {
            Console.Error.WriteLine($"{target.Name} ({(stream ? "stream" : "json")}) failed: {probe.Error}");
            return 1;
        }
    }
}

var driver = new LoadDriver(sender, options, servers, wrk);
var results = new List<PhaseResult>();
var wallClock = Stopwatch.StartNew();
Target[] targets = [servers.Direct, servers.Yarp, servers.Relay];
foreach (var stream in new[] { false, true })
{
    Console.Error.WriteLine(stream ? "streaming (SSE):" : "non-streaming (JSON):");
    await driver.SaturateAsync(targets, stream, options.Warmup, 1, "warm-up ");
    var saturation = await driver.SaturateAsync(targets, stream, options.SaturationDuration, options.Rounds);
    results.AddRange(saturation);

    // Well below saturation, so that queueing does not swamp the per-request cost being measured.
    var rate = options.Rate ?? Math.Max(10, Math.Floor(saturation.Min(s => s.Throughput) * 0.3 / 10) * 10);
    results.AddRange(await driver.FixedRateAsync(targets, stream, rate, options.FixedDuration, options.Rounds));
}

double? soakGrowth = null;
if (options.Soak > 0)
{
    Console.Error.WriteLine($"memory soak: {options.Soak} relay requests in ten parts:");
    var chunk = Math.Max(1, options.Soak / 10);
    var heaps = new List<double>();
    for (var part = 1; part <= 10; part++)
    {
        var result = await driver.CountAsync(servers.Relay, part % 2 == 0, chunk, $"relay  soak part {part}/10");
        heaps.Add(result.HeapMb);
        Console.Error.WriteLine(string.Create(invariant, $"    heap {result.HeapMb:0.0} MB, working set {result.WorkingSetMb:0} MB"));
    }

    soakGrowth = heaps[^1] - heaps[0];
}

Console.WriteLine();
Console.WriteLine(ResultTable.Render(results, options.Processes));
Console.WriteLine(options.Processes ? "Targets (issue 20):" : "Targets (issue 9):");
Console.WriteLine(ResultTable.Targets(results, soakGrowth, options.Soak, options.Processes));
var relayTelemetry = await servers.TelemetryAsync();
var files = Directory.GetFiles(servers.DataDirectory).Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length / 1024} KB");
Console.WriteLine(string.Create(invariant,
    $"relay telemetry seen: {relayTelemetry}; relay data files: {string.Join(", ", files.DefaultIfEmpty("none"))}"));
Console.WriteLine(string.Create(invariant,
    $"wall clock {wallClock.Elapsed.TotalSeconds:0} s · load average at end {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")}"));
return 0;
