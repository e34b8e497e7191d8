using System.Text;
using Microsoft.Extensions.Time.Testing;
using Snapshooter.Xunit;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>
/// Pins the exact bytes the fake puts on the wire for each Anthropic endpoint (status, headers, body or
/// event stream). A fixed seed and clock make ids, generated text and timestamps the same every run, so a
/// change to any of them is a deliberate, reviewed snapshot update.
/// </summary>
public sealed class AnthropicWireSnapshotTests
{
    private const string Weather = """
        {"name":"get_weather","description":"Gets the weather.","input_schema":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer","minimum":1,"maximum":5}},"required":["city","unit","days"]}}
        """;

    [Fact]
    public async Task Messages_text() => Snapshot.Match(await ExchangeAsync(HttpMethod.Post, "v1/messages", Ask(stream: false)));

    [Fact]
    public async Task Messages_text_stream() => Snapshot.Match(await ExchangeAsync(HttpMethod.Post, "v1/messages", Ask(stream: true)));

    [Fact]
    public async Task Messages_tool_use() => Snapshot.Match(await ExchangeAsync(HttpMethod.Post, "v1/messages", AskForTool(stream: false)));

    [Fact]
    public async Task Messages_tool_use_stream() => Snapshot.Match(await ExchangeAsync(HttpMethod.Post, "v1/messages", AskForTool(stream: true)));

    [Fact]
    public async Task Count_tokens() => Snapshot.Match(await ExchangeAsync(HttpMethod.Post, "v1/messages/count_tokens",
        """{"model":"claude-sonnet-4-5","system":"Be brief.","messages":[{"role":"user","content":"Count these tokens, please."}]}"""));

    [Fact]
    public async Task Models() => Snapshot.Match(await ExchangeAsync(HttpMethod.Get, "v1/models", null));

    [Fact]
    public async Task Rate_limit_error() => Snapshot.Match(await ExchangeAsync(HttpMethod.Post, "v1/messages", Ask(stream: false),
        fake => fake.Setup().WithFault(FakeFault.RateLimited(TimeSpan.FromMilliseconds(2500)))));

    [Fact]
    public async Task Mid_stream_error() => Snapshot.Match(await ExchangeAsync(HttpMethod.Post, "v1/messages", Ask(stream: true),
        fake => fake.Setup().WithFault(FakeFault.StreamError(4))));

    private static string Ask(bool stream) =>
        $$"""{"model":"claude-sonnet-4-5","max_tokens":200,"stream":{{(stream ? "true" : "false")}},"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Tell me about the sea."}]}""";

    private static string AskForTool(bool stream) =>
        $$"""{"model":"claude-sonnet-4-5","max_tokens":200,"stream":{{(stream ? "true" : "false")}},"tools":[{{Weather}}],"tool_choice":{"type":"tool","name":"get_weather"},"messages":[{"role":"user","content":"Weather in Rome?"}]}""";

    /// <summary>One request to a fresh fake with a fixed seed and clock; the response as text, headers sorted.</summary>
    private static async Task<string> ExchangeAsync(HttpMethod method, string path, string? body, Action<FakeUpstream>? script = null)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 9, 30, 0, TimeSpan.Zero));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 2025, TimeProvider = clock });
        fake.Options.AnthropicModels.Clear();
        fake.Options.AnthropicModels.Add("claude-sonnet-4-5");
        fake.Options.AnthropicModels.Add("claude-haiku-4-5");
        script?.Invoke(fake);
        using var http = fake.CreateClient();

        using var response = await http.SendAsync(AnthropicSdk.Raw(method, path, body));
        var text = new StringBuilder().Append("HTTP ").Append((int)response.StatusCode).Append('\n');
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers).OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            text.Append(name.ToLowerInvariant()).Append(": ").Append(string.Join(", ", values)).Append('\n');
        }

        return text.Append('\n').Append(await response.Content.ReadAsStringAsync()).ToString();
    }
}
