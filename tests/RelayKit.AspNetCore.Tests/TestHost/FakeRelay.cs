using Microsoft.Extensions.DependencyInjection;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>
/// The relay in a <see cref="RelayApp"/> with the fake upstream behind it, in memory: providers
/// <c>openai</c> (base <c>http://fake-upstream/v1</c>) and <c>anthropic</c> (base <c>http://fake-upstream</c>)
/// both reach the same <see cref="FakeUpstream"/> through a <see cref="RecordingHandler"/>.
/// </summary>
public sealed class FakeRelay : IAsyncDisposable
{
    private FakeRelay(Action<Dictionary<string, string?>>? settings, Action<IServiceCollection>? services, string prefix, Uri? overSockets = null)
    {
        var values = overSockets is null
            ? RelaySettings.Create(new Uri("http://fake-upstream/v1"), new Uri("http://fake-upstream/"))
            : RelaySettings.Create(new Uri(overSockets, "v1"), overSockets);
        settings?.Invoke(values);
        App = new RelayApp(
            values,
            overSockets is null
                ? relay => relay.ConfigureUpstreamHandler((_, provider) => new RecordingHandler(Recorder, provider) { InnerHandler = Fake.CreateHandler() })
                : null,
            services,
            prefix);
    }

    public FakeUpstream Fake { get; private init; } = new(new FakeUpstreamOptions { Seed = 1 });

    public UpstreamRecorder Recorder { get; } = new();

    public RelayApp App { get; }

    public static FakeRelay Create(Action<Dictionary<string, string?>>? settings = null, Action<IServiceCollection>? services = null, string prefix = "") =>
        new(settings, services, prefix);

    /// <summary>
    /// The fake on a Kestrel loopback port and the relay's own production handler (SocketsHttpHandler)
    /// in between: no recorder, real connections, real cancellation.
    /// </summary>
    public static async Task<FakeRelay> CreateOverSocketsAsync(Action<Dictionary<string, string?>>? settings = null, Action<IServiceCollection>? services = null)
    {
        var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        var baseAddress = await fake.StartAsync();
        return new FakeRelay(settings, services, "", baseAddress) { Fake = fake };
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Fake.DisposeAsync();
    }
}
