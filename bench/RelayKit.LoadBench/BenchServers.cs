using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore;
using RelayKit.Testing;
using Yarp.ReverseProxy.Configuration;

namespace RelayKit.LoadBench;

/// <summary>
/// The three servers of the bench, each on its own Kestrel loopback port in this process: the fake
/// upstream with one fixed answer, a plain YARP forwarder to it, and the relay with every feature configured.
/// <see cref="ProcessBenchServers"/> runs the same servers (built by the same methods here) each in a process of its own.
/// </summary>
internal sealed class BenchServers : IBenchServers
{
    public const string Model = "gpt-4o-mini";
    public const string RelayKey = "rk-loadbench-0123456789";
    public const string ProviderKey = "sk-loadbench-provider";

    /// <summary>About 60 tokens: a short real answer, identical for every request.</summary>
    public const string Answer =
        "Casa do Conto, Torel 1884 and Pestana Vintage Porto are all on quiet streets above the Douro. " +
        "Casa do Conto sits in a residential block with a garden; Torel 1884 is on a pedestrian lane; " +
        "Pestana Vintage faces the river but has triple-glazed rooms on the Ribeira side.";

    private readonly List<WebApplication> _apps = [];

    private readonly string _directory;

    private BenchServers(string directory)
    {
        _directory = directory;
        DataDirectory = Directory.CreateDirectory(Path.Combine(directory, "data")).FullName;
        HostDirectory = Directory.CreateDirectory(Path.Combine(directory, "host")).FullName;
    }

    public FakeUpstream Fake { get; } = CreateFake();

    private readonly TelemetryListeners _telemetry = new();

    /// <summary>Where the relay's SQLite ledger and usage store live.</summary>
    public string DataDirectory { get; }

    /// <summary>
    /// The YARP and relay hosts' content root: an empty folder beside <see cref="DataDirectory"/>, not above it.
    /// A host watches its content root, subfolders included, for changes to appsettings.json; with the data
    /// files inside it, every ledger and usage write woke the watcher (an inotify read, an lstat and a
    /// context switch per write: 5.5 % of the process's CPU in a profile). See bench/README.md.
    /// </summary>
    public string HostDirectory { get; }

    public Target Direct { get; private set; } = null!;

    public Target Yarp { get; private set; } = null!;

    public Target Relay { get; private set; } = null!;

    /// <summary>The relay's settings, by their documented configuration names.</summary>
    public IReadOnlyDictionary<string, string?> RelaySettings { get; private set; } = new Dictionary<string, string?>();

    public string Description => "all three servers and the client in this one process";

    /// <summary>The fake with the bench's options: its own rate limits out of reach.</summary>
    public static FakeUpstream CreateFake() =>
        new(new FakeUpstreamOptions { Seed = 1, RequestsPerMinute = int.MaxValue, TokensPerMinute = int.MaxValue });

    /// <summary>Scripts the bench's one fixed answer.</summary>
    public static void ScriptAnswer(FakeUpstream fake) => fake.Setup().RespondWithText(Answer);

    public ProcessProbe ProbeOf(Target target) => OwnProcessProbe.Instance;

    public ValueTask<string> TelemetryAsync() => ValueTask.FromResult(_telemetry.Summary);

    /// <summary>Starts the three servers; <paramref name="relayOverrides"/> replace or add relay settings (<c>--relay-setting</c>).</summary>
    public static async Task<BenchServers> StartAsync(IReadOnlyDictionary<string, string?> relayOverrides)
    {
        var directory = Path.Combine(Path.GetTempPath(), "relaykit-loadbench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var servers = new BenchServers(directory);
        var fakeBase = await servers.Fake.StartAsync();
        servers.ScriptAnswer();
        servers.Direct = new Target("direct", new Uri(fakeBase, "v1/chat/completions"), "Bearer " + ProviderKey);

        var yarpBase = await servers.StartAsync(BuildYarp(fakeBase, servers.HostDirectory));
        servers.Yarp = new Target("yarp", new Uri(yarpBase, "v1/chat/completions"), "Bearer " + ProviderKey);

        var relay = BuildRelay(fakeBase, servers.DataDirectory, servers.HostDirectory, relayOverrides, out var settings);
        servers.RelaySettings = settings;
        var relayBase = await servers.StartAsync(relay);
        servers.Relay = new Target("relay", new Uri(relayBase, "v1/chat/completions"), "Bearer " + RelayKey);
        return servers;
    }

    /// <summary>
    /// Forgets the requests the fake recorded (it keeps every one for inspection, which would grow the
    /// heap and blur the relay's memory); only call while no request is in flight.
    /// </summary>
    public ValueTask ForgetFakeRequestsAsync()
    {
        Fake.Reset();
        ScriptAnswer();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        await Fake.DisposeAsync();
        _telemetry.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A store still closing its file: the temp folder is left behind, nothing more.
        }
    }

    private void ScriptAnswer() => ScriptAnswer(Fake);

    /// <summary>A plain YARP forwarder to <paramref name="fakeBase"/>, listening on a free loopback port once started.</summary>
    public static WebApplication BuildYarp(Uri fakeBase, string hostDirectory)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = hostDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "all", ClusterId = "fake", Match = new RouteMatch { Path = "{**catch-all}" } }],
            [new ClusterConfig
            {
                ClusterId = "fake",
                Destinations = new Dictionary<string, DestinationConfig> { ["fake"] = new() { Address = fakeBase.AbsoluteUri } },
            }]);
        var app = builder.Build();
        app.MapReverseProxy();
        return app;
    }

    /// <summary>
    /// The relay in front of <paramref name="fakeBase"/> with every feature on, configured only through its documented
    /// names; <paramref name="settings"/> are those names and values, after <paramref name="overrides"/>.
    /// </summary>
    public static WebApplication BuildRelay(
        Uri fakeBase, string dataDirectory, string hostDirectory, IReadOnlyDictionary<string, string?> overrides, out IReadOnlyDictionary<string, string?> settings)
    {
        var invariant = CultureInfo.InvariantCulture;
        var configured = new Dictionary<string, string?>
        {
            ["ModelRelay:Providers:openai:Kind"] = "OpenAI",
            ["ModelRelay:Providers:openai:BaseUrl"] = new Uri(fakeBase, "v1").AbsoluteUri,
            ["ModelRelay:Providers:openai:ApiKey"] = ProviderKey,
            [$"ModelRelay:Models:{Model}:Provider"] = "openai",
            [$"ModelRelay:Models:{Model}:Price:Input"] = "0.15",
            [$"ModelRelay:Models:{Model}:Price:Output"] = "0.6",
            ["ModelRelay:Keys:0:Name"] = "loadbench",
            ["ModelRelay:Keys:0:Secret"] = RelayKey,
            // Large enough that nothing is refused: the bench measures the work, not the refusals.
            ["ModelRelay:Keys:0:Budget"] = 1_000_000_000m.ToString(invariant),
            ["ModelRelay:Keys:0:RequestsPerMinute"] = 100_000_000.ToString(invariant),
            ["ModelRelay:Keys:0:TokensPerMinute"] = 100_000_000_000L.ToString(invariant),
            ["ModelRelay:Keys:0:MaxConcurrentRequests"] = 100_000.ToString(invariant),
            ["ModelRelay:Budgets:Store"] = "Sqlite",
            ["ModelRelay:Budgets:SqlitePath"] = Path.Combine(dataDirectory, "relaykit-budgets.db"),
            ["ModelRelay:Usage:Store"] = "Sqlite",
            ["ModelRelay:Usage:SqlitePath"] = Path.Combine(dataDirectory, "relaykit-usage.db"),
        };
        foreach (var (name, value) in overrides)
        {
            configured[name] = value;
        }

        settings = configured;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = hostDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(configured);
        builder.Services.AddModelRelay();
        var app = builder.Build();
        app.MapModelRelay();
        return app;
    }

    /// <summary>The address a started app listens on.</summary>
    public static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");

    private async Task<Uri> StartAsync(WebApplication app)
    {
        await app.StartAsync();
        _apps.Add(app);
        return AddressOf(app);
    }
}
