namespace RelayKit.LoadBench;

/// <summary>
/// The separate-process mode (<c>--processes</c>): the fake, YARP and the relay each in a process of its own on
/// loopback, as users deploy them, the load from this process (and from wrk at saturation, where it is installed).
/// Each phase reports the counters of the process that serves its target alone: the fake's for direct, YARP's, the
/// relay's.
/// </summary>
internal sealed class ProcessBenchServers : IBenchServers
{
    private readonly string _directory;
    private readonly ChildServer _fake;
    private readonly ChildServer _yarp;
    private readonly ChildServer _relay;

    private ProcessBenchServers(string directory, ChildServer fake, ChildServer yarp, ChildServer relay)
    {
        _directory = directory;
        _fake = fake;
        _yarp = yarp;
        _relay = relay;
        Direct = new Target("direct", new Uri(fake.Address, "v1/chat/completions"), "Bearer " + BenchServers.ProviderKey);
        Yarp = new Target("yarp", new Uri(yarp.Address, "v1/chat/completions"), "Bearer " + BenchServers.ProviderKey);
        Relay = new Target("relay", new Uri(relay.Address, "v1/chat/completions"), "Bearer " + BenchServers.RelayKey);
    }

    public Target Direct { get; }

    public Target Yarp { get; }

    public Target Relay { get; }

    public string DataDirectory => Path.Combine(_directory, "data");

    public string Description =>
        $"separate processes on loopback: fake pid {_fake.ProcessId}, yarp pid {_yarp.ProcessId}, relay pid {_relay.ProcessId}, load from pid {Environment.ProcessId}";

    public static async Task<ProcessBenchServers> StartAsync(IReadOnlyDictionary<string, string?> relayOverrides)
    {
        var directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "relaykit-loadbench-" + Guid.NewGuid().ToString("N"))).FullName;
        var fake = await ChildServer.StartAsync(["fake"]);
        var upstream = fake.Address.AbsoluteUri;
        var yarp = await ChildServer.StartAsync(["yarp", "--upstream", upstream, "--dir", directory]);
        var relayArguments = new List<string> { "relay", "--upstream", upstream, "--dir", directory };
        foreach (var (name, value) in relayOverrides)
        {
            relayArguments.AddRange(["--relay-setting", $"{name}={value}"]);
        }

        var relay = await ChildServer.StartAsync(relayArguments);
        return new ProcessBenchServers(directory, fake, yarp, relay);
    }

    public async ValueTask ForgetFakeRequestsAsync() => await _fake.AskAsync("forget");

    public ProcessProbe ProbeOf(Target target) =>
        target == Relay ? _relay : target == Yarp ? _yarp : _fake;

    public async ValueTask<string> TelemetryAsync() => await _relay.AskAsync("telemetry");

    public async ValueTask DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _yarp.DisposeAsync();
        await _fake.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A store still closing its file: the temp folder is left behind, nothing more.
        }
    }
}
