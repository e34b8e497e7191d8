using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>
/// A <see cref="FakeRelay"/> whose clock is a <see cref="FakeTimeProvider"/>, so rate limits refill only
/// when a test moves time, with helpers for raw OpenAI and Anthropic calls as alice or bob.
/// </summary>
internal sealed class RateLimitedRelay : IAsyncDisposable
{
    public const string ChatBody = """{"model":"gpt-5.5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""";
    public const string MessagesBody = """{"model":"claude-code-opus-4.8","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""";

    private RateLimitedRelay(FakeRelay relay, FakeTimeProvider? time)
    {
        Relay = relay;
        Time = time;
        Http = relay.App.CreateClient();
    }

    public FakeRelay Relay { get; }

    public FakeTimeProvider? Time { get; }

    public HttpClient Http { get; }

    /// <summary>A relay with the given extra settings; on fake time unless <paramref name="realTime"/>.</summary>
    public static RateLimitedRelay Create(Action<Dictionary<string, string?>> settings, bool realTime = false) => Create(settings, null, realTime);

    /// <summary>A relay with the given extra settings and services; on fake time unless <paramref name="realTime"/>.</summary>
    public static RateLimitedRelay Create(Action<Dictionary<string, string?>> settings, Action<IServiceCollection>? services, bool realTime = false)
    {
        var time = realTime ? null : new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var relay = FakeRelay.Create(settings, s =>
        {
            if (time is not null)
            {
                s.AddSingleton<TimeProvider>(time);
            }

            services?.Invoke(s);
        });
        return new RateLimitedRelay(relay, time);
    }

    public Task<(int Status, JsonElement Body, HttpResponseHeaders Headers)> ChatAsync(string key = RelaySettings.AliceKey, string body = ChatBody) =>
        RawRelayCall.PostAsync(Http, "v1/chat/completions", body, bearer: key);

    public Task<(int Status, JsonElement Body, HttpResponseHeaders Headers)> MessagesAsync(string key = RelaySettings.AliceKey, string body = MessagesBody) =>
        RawRelayCall.PostAsync(Http, "v1/messages", body, apiKey: key, anthropicVersion: "2023-06-01");

    public static string Header(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? string.Join(",", values) : throw new Xunit.Sdk.XunitException($"No {name} header.");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Relay.DisposeAsync();
    }
}
