using System.Text;
using Microsoft.Extensions.Time.Testing;
using Snapshooter.Xunit;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>
/// Pins the exact bytes the fake sends for each OpenAI endpoint, streaming included: status, the headers
/// an SDK reads, and the body. A fixed seed and clock make ids, timestamps and generated text stable.
/// </summary>
public sealed class WireSnapshotTests
{
    private const string Tools = """
        "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}}}]
        """;

    private const string ResponsesTools = """
        "tools":[{"type":"function","name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}}]
        """;

    [Fact]
    public async Task Chat_completion() => Snapshot.Match(await WireAsync("/v1/chat/completions",
        """{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something."}]}"""));

    [Fact]
    public async Task Chat_completion_stream_with_usage() => Snapshot.Match(await WireAsync("/v1/chat/completions",
        """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say something."}]}"""));

    [Fact]
    public async Task Chat_completion_stream_of_a_forced_tool_call() => Snapshot.Match(await WireAsync("/v1/chat/completions",
        """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Weather?"}],""" + Tools + ""","tool_choice":{"type":"function","function":{"name":"get_weather"}}}"""));

    [Fact]
    public async Task Chat_completion_with_a_tool_call() => Snapshot.Match(await WireAsync("/v1/chat/completions",
        """{"model":"gpt-4o","messages":[{"role":"user","content":"Weather?"}],""" + Tools + ""","tool_choice":"required"}"""));

    [Fact]
    public async Task Embeddings_float() => Snapshot.Match(await WireAsync("/v1/embeddings",
        """{"model":"text-embedding-3-small","input":["first","second"],"dimensions":4,"encoding_format":"float"}"""));

    [Fact]
    public async Task Embeddings_base64() => Snapshot.Match(await WireAsync("/v1/embeddings",
        """{"model":"text-embedding-3-small","input":"first","dimensions":4,"encoding_format":"base64"}"""));

    [Fact]
    public async Task Models() => Snapshot.Match(await WireAsync("/v1/models", null));

    [Fact]
    public async Task Response() => Snapshot.Match(await WireAsync("/v1/responses",
        """{"model":"gpt-4o","instructions":"Be brief.","input":"Say something."}"""));

    [Fact]
    public async Task Response_stream() => Snapshot.Match(await WireAsync("/v1/responses",
        """{"model":"gpt-4o","stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"Say something."}]}]}"""));

    [Fact]
    public async Task Response_stream_of_a_forced_function_call() => Snapshot.Match(await WireAsync("/v1/responses",
        """{"model":"gpt-4o","stream":true,"input":"Weather?",""" + ResponsesTools + ""","tool_choice":{"type":"function","name":"get_weather"}}"""));

    [Fact]
    public async Task Rate_limit_error() => Snapshot.Match(await WireAsync("/v1/chat/completions",
        """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", "rate-limit; retry-after=1.5"));

    [Fact]
    public async Task Mid_stream_error_chunk() => Snapshot.Match(await WireAsync("/v1/chat/completions",
        """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""", "stream-error; after=2"));

    private static async Task<string> WireAsync(string path, string? body, string? fault = null)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 15, 12, 0, 0, TimeSpan.Zero));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1234, TimeProvider = clock });
        using var request = new HttpRequestMessage(body is null ? HttpMethod.Get : HttpMethod.Post, path);
        request.Headers.Authorization = new("Bearer", OpenAITestClients.ApiKey);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (fault is not null)
        {
            request.Headers.Add("x-fake-fault", fault);
        }

        using var response = await fake.CreateClient().SendAsync(request);
        var wire = new StringBuilder();
        wire.Append("HTTP ").Append((int)response.StatusCode).Append('\n');
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers)
            .Where(h => h.Key.StartsWith("x-", StringComparison.OrdinalIgnoreCase) || h.Key.StartsWith("retry-", StringComparison.OrdinalIgnoreCase)
                || h.Key is "Content-Type" or "Cache-Control")
            .OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            wire.Append(name.ToLowerInvariant()).Append(": ").Append(string.Join(", ", values)).Append('\n');
        }

        wire.Append('\n').Append(await response.Content.ReadAsStringAsync());
        return wire.ToString();
    }
}
