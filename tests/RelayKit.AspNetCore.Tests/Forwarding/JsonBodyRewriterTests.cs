using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Forwarding;

namespace RelayKit.AspNetCore.Tests.Forwarding;

public sealed class JsonBodyRewriterTests
{
    [Fact]
    public void Replaces_the_model_and_keeps_every_other_field_byte_for_byte()
    {
        const string body = """{"model":"claude-code-opus-4.8","temperature":0.70,"messages":[{"role":"user","content":"caf\u00e9 \"q\" ✓"}],"n":1e2}""";
        using var document = JsonDocument.Parse(body);

        var rewritten = Rewrite(document, new() { ["model"] = JsonValue.Create("claude-opus-4-8") });

        Assert.Equal("""{"model":"claude-opus-4-8","temperature":0.70,"messages":[{"role":"user","content":"caf\u00e9 \"q\" ✓"}],"n":1e2}""", rewritten);
    }

    [Fact]
    public void Adds_a_field_that_was_not_there()
    {
        using var document = JsonDocument.Parse("""{"model":"gpt-5.5","stream":true}""");

        var rewritten = Rewrite(document, new() { ["stream_options"] = new JsonObject { ["include_usage"] = true } });

        Assert.Equal("""{"model":"gpt-5.5","stream":true,"stream_options":{"include_usage":true}}""", rewritten);
    }

    [Fact]
    public void Nothing_to_replace_gives_the_same_json()
    {
        const string body = """{"model":"gpt-5.5","input":["a","b"]}""";
        using var document = JsonDocument.Parse(body);

        Assert.Equal(body, Rewrite(document, []));
    }

    private static string Rewrite(JsonDocument document, Dictionary<string, JsonNode?> overrides) =>
        Encoding.UTF8.GetString(JsonBodyRewriter.Rewrite(document.RootElement, overrides).Span);
}
