using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using Microsoft.ML.Tokenizers;

namespace RelayKit.Testing.Tests.Protocols.Anthropic;

/// <summary>The official Anthropic SDK and raw HTTP pointed at a fake upstream, as the tests use them.</summary>
internal static class AnthropicSdk
{
    /// <summary>The <c>anthropic-version</c> raw requests send (the first one, which the API still accepts).</summary>
    public const string Version = "2023-06-01";

    /// <summary>The <c>anthropic-version</c> the pinned SDK (13.12.0) sends.</summary>
    public const string SdkVersion = "2026-10-21";

    // o200k_base is what the fake counts with; building it parses a large vocabulary, so once per run.
    private static readonly Lazy<Tokenizer> O200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    /// <summary>
    /// An SDK client over the fake's in-memory handler. Response validation is on, so a field the SDK
    /// requires and the fake forgot fails the test. Retries are off unless a test asks for them.
    /// </summary>
    public static AnthropicClient Client(FakeUpstream fake, int maxRetries = 0) => new()
    {
        HttpClient = fake.CreateClient(),
        BaseUrl = "http://fake-upstream",
        ApiKey = "sk-ant-test-key",
        MaxRetries = maxRetries,
        ResponseValidation = true,
    };

    /// <summary>An SDK client over real HTTP to the fake's Kestrel server.</summary>
    public static AnthropicClient Client(Uri baseAddress, int maxRetries = 0) => new()
    {
        HttpClient = new HttpClient(),
        BaseUrl = baseAddress.ToString().TrimEnd('/'),
        ApiKey = "sk-ant-test-key",
        MaxRetries = maxRetries,
        ResponseValidation = true,
    };

    public static MessageCreateParams Ask(string text, string model = "claude-sonnet-4-5", long maxTokens = 256) => new()
    {
        Model = model,
        MaxTokens = maxTokens,
        Messages = [new UserMessageParam(text)],
    };

    public static int CountTokens(string? text) => string.IsNullOrEmpty(text) ? 0 : O200k.Value.CountTokens(text);

    /// <summary>A raw Anthropic request with the headers the SDK sends, for wire-level assertions.</summary>
    public static HttpRequestMessage Raw(HttpMethod method, string path, string? json = null, bool headers = true)
    {
        var request = new HttpRequestMessage(method, path);
        if (headers)
        {
            request.Headers.Add("x-api-key", "sk-ant-test-key");
            request.Headers.Add("anthropic-version", Version);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        return request;
    }

    /// <summary>The <c>event:</c> names and parsed <c>data:</c> of an SSE body, in order.</summary>
    public static List<(string Event, JsonElement Data)> ParseSse(string body)
    {
        var events = new List<(string, JsonElement)>();
        foreach (var block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            var name = lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))["event: ".Length..];
            var data = lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
            events.Add((name, JsonDocument.Parse(data).RootElement.Clone()));
        }

        return events;
    }
}
