using System.Text.Json.Nodes;
using Newtonsoft.Json.Linq;
using RelayKit.AspNetCore.Translation.Streaming;
using Snapshooter.Xunit;

namespace RelayKit.AspNetCore.Tests.Translation.Streaming;

public sealed class StreamTranslatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    // An Anthropic stream as the API sends it: text, then a tool call with argument fragments.
    private static readonly (string Event, string Data)[] AnthropicStream =
    [
        ("message_start", """{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-opus-4-8","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_read_input_tokens":50,"cache_creation_input_tokens":0,"output_tokens":1}}}"""),
        ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
        ("ping", """{"type":"ping"}"""),
        ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"""),
        ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there."}}"""),
        ("content_block_stop", """{"type":"content_block_stop","index":0}"""),
        ("content_block_start", """{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}"""),
        ("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"""),
        ("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}"""),
        ("content_block_stop", """{"type":"content_block_stop","index":1}"""),
        ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":17}}"""),
        ("message_stop", """{"type":"message_stop"}"""),
    ];

    private static readonly string[] OpenAIStream =
    [
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-5.5","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-5.5","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-5.5","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-5.5","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]},"finish_reason":null}]}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-5.5","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""",
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-5.5","choices":[],"usage":{"prompt_tokens":90,"completion_tokens":9,"total_tokens":99,"prompt_tokens_details":{"cached_tokens":40}}}""",
        "[DONE]",
    ];

    [Fact]
    public void Anthropic_to_chat_chunks_matches_snapshot()
    {
        var sink = Run(new MessagesToChatChunksStreamTranslator(includeUsage: true, Now), AnthropicStream);

        Snapshot.Match(JToken.FromObject(sink.Frames.Select(f => f.Data).ToList()));
    }

    [Fact]
    public void Anthropic_to_chat_chunks_writes_each_event_as_it_arrives()
    {
        var translator = new MessagesToChatChunksStreamTranslator(includeUsage: false, Now);
        var sink = new RecordingSseSink();

        translator.Push("message_start", AnthropicStream[0].Data, sink);
        Assert.Single(sink.Frames);
        translator.Push("content_block_delta", AnthropicStream[3].Data, sink);
        Assert.Equal(2, sink.Frames.Count);
        Assert.Equal("Hello", (string?)JsonNode.Parse(sink.Frames[1].Data)!["choices"]![0]!["delta"]!["content"]);
        Assert.Null(sink.Frames[1].Event);
    }

    [Fact]
    public void Usage_chunk_only_when_the_caller_asked_but_usage_always_reaches_the_relay()
    {
        var without = new MessagesToChatChunksStreamTranslator(includeUsage: false, Now);
        var sink = Run(without, AnthropicStream);

        Assert.DoesNotContain(sink.Frames, f => f.Data.Contains("\"usage\"", StringComparison.Ordinal));
        Assert.Equal("[DONE]", sink.Frames[^1].Data);
        Assert.True(without.IsComplete);
        Assert.Equal(70, without.Usage!.TotalInputTokens);
        Assert.Equal(50, without.Usage.CachedInputTokens);
        Assert.Equal(17, without.Usage.OutputTokens);
    }

    [Fact]
    public void Cut_off_anthropic_stream_ends_with_an_error_not_a_clean_finish()
    {
        var translator = new MessagesToChatChunksStreamTranslator(includeUsage: true, Now);
        var sink = Run(translator, AnthropicStream[..5]);

        Assert.False(translator.IsComplete);
        Assert.NotNull(JsonNode.Parse(sink.Frames[^1].Data)!["error"]);
        Assert.DoesNotContain(sink.Frames, f => f.Data == "[DONE]");
        Assert.Equal(1, translator.Usage!.OutputTokens);
    }

    [Fact]
    public void Anthropic_error_event_becomes_an_openai_error_frame()
    {
        var translator = new MessagesToChatChunksStreamTranslator(includeUsage: true, Now);
        var sink = Run(translator, [AnthropicStream[0], ("error", """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""")]);

        var error = JsonNode.Parse(sink.Frames[^1].Data)!["error"]!;
        Assert.Equal("Overloaded", (string?)error["message"]);
        Assert.Equal("server_is_overloaded", (string?)error["code"]);
        Assert.Equal(2, sink.Frames.Count);
    }

    [Fact]
    public void Chat_chunks_to_anthropic_events_match_snapshot_and_official_order()
    {
        var translator = new ChatChunksToMessagesStreamTranslator();
        var sink = Run(translator, OpenAIStream.Select(d => ((string)null!, d)).ToArray());

        Assert.Equal(
            ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            sink.Frames.Select(f => f.Event!));
        Assert.True(translator.IsComplete);
        Assert.Equal(90, translator.Usage!.TotalInputTokens);
        Assert.Contains("event: message_delta\ndata: {", sink.Text, StringComparison.Ordinal);
        Snapshot.Match(JToken.FromObject(sink.Frames.Select(f => JToken.Parse(f.Data)).ToList()));
    }

    [Fact]
    public void Chat_chunks_without_done_still_finish_on_complete()
    {
        var translator = new ChatChunksToMessagesStreamTranslator();
        var sink = Run(translator, OpenAIStream[..5].Select(d => ((string)null!, d)).ToArray());

        Assert.Equal("message_stop", sink.Frames[^1].Event);
        Assert.Equal("tool_use", (string?)JsonNode.Parse(sink.Frames[^2].Data)!["delta"]!["stop_reason"]);
    }

    [Fact]
    public void Cut_off_openai_stream_ends_with_an_anthropic_error_event()
    {
        var translator = new ChatChunksToMessagesStreamTranslator();
        var sink = Run(translator, OpenAIStream[..2].Select(d => ((string)null!, d)).ToArray());

        Assert.Equal("error", sink.Frames[^1].Event);
        Assert.False(translator.IsComplete);
    }

    [Fact]
    public void Anthropic_to_responses_events_match_snapshot()
    {
        var request = (JsonObject)JsonNode.Parse("""{"model":"claude-code-opus-4.8","input":"x"}""")!;
        var translator = new MessagesToResponsesStreamTranslator(request, Now, "claude-code-opus-4.8");
        var sink = Run(translator, AnthropicStream);

        Assert.Equal("response.created", sink.Frames[0].Event);
        Assert.Equal("response.completed", sink.Frames[^1].Event);
        Assert.Equal(Enumerable.Range(0, sink.Frames.Count), sink.Frames.Select(f => (int)JsonNode.Parse(f.Data)!["sequence_number"]!));
        Assert.True(translator.IsComplete);
        Snapshot.Match(JToken.FromObject(sink.Frames.Select(f => JToken.Parse(f.Data)).ToList()));
    }

    [Fact]
    public void Cut_off_anthropic_stream_ends_the_responses_events_with_an_error_event()
    {
        var translator = new MessagesToResponsesStreamTranslator(null, Now, "claude-code-opus-4.8");
        var sink = Run(translator, AnthropicStream[..5]);

        Assert.False(translator.IsComplete);
        Assert.Equal("error", sink.Frames[^1].Event);
        var error = JsonNode.Parse(sink.Frames[^1].Data)!;
        Assert.Equal("server_error", (string?)error["code"]);
        Assert.Contains("ended before the answer was complete", (string?)error["message"], StringComparison.Ordinal);
        Assert.DoesNotContain(sink.Frames, f => f.Event is "response.completed" or "response.incomplete");
        Assert.Equal(1, translator.Usage!.OutputTokens);
    }

    [Fact]
    public void Anthropic_error_event_ends_the_responses_events_and_later_events_are_ignored()
    {
        var translator = new MessagesToResponsesStreamTranslator(null, Now, "claude-code-opus-4.8");
        var sink = Run(translator, [AnthropicStream[0], ("error", """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""), .. AnthropicStream[1..]]);

        Assert.False(translator.IsComplete);
        Assert.Equal(["response.created", "response.in_progress", "error"], sink.Frames.Select(f => f.Event));
        var error = JsonNode.Parse(sink.Frames[^1].Data)!;
        Assert.Equal("server_is_overloaded", (string?)error["code"]);
        Assert.Equal("Overloaded", (string?)error["message"]);
    }

    [Fact]
    public void Sink_splits_multi_line_data_into_data_fields()
    {
        var sink = new RecordingSseSink();

        sink.Write("x", "a\nb");

        Assert.Equal("event: x\ndata: a\ndata: b\n\n", sink.Text);
    }

    private static RecordingSseSink Run(IStreamTranslator translator, (string Event, string Data)[] events)
    {
        var sink = new RecordingSseSink();
        foreach (var (name, data) in events)
        {
            translator.Push(name, data, sink);
        }

        translator.Complete(sink);
        return sink;
    }
}
