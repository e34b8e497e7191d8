using System.Text.Json.Nodes;
using RelayKit.Testing.Cassettes;

namespace RelayKit.Testing.Tests.Cassettes;

public sealed class StreamAssemblerTests
{
    [Fact]
    public void A_chat_streams_log_probabilities_are_kept_for_every_chunk_in_order()
    {
        RecordedEvent Chunk(string text, double logprob) => new(0, null, null, JsonNode.Parse($$"""
            {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o",
             "choices":[{"index":0,"delta":{"content":"{{text}}"},"logprobs":{"content":[{"token":"{{text}}","logprob":{{logprob}},"bytes":null,"top_logprobs":[]}],"refusal":null},"finish_reason":null}]}
            """), null);

        var whole = StreamAssembler.Assemble(FakeEndpoint.OpenAIChatCompletions, [Chunk("Hel", -0.5), Chunk("lo", -0.25)])!;

        var tokens = whole["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal(["Hel", "lo"], tokens.Select(t => (string?)t!["token"]));
        Assert.Equal("Hello", (string?)whole["choices"]![0]!["message"]!["content"]);
    }
}
