using System.Text.Json.Nodes;
using Newtonsoft.Json.Linq;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Translation.Responses;
using Snapshooter.Xunit;

namespace RelayKit.AspNetCore.Tests.Translation.Responses;

public sealed class ResponseTranslationTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private const string AnthropicMessage = """
        {"id":"msg_01","type":"message","role":"assistant","model":"claude-opus-4-8",
         "content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"Part one. "},{"type":"text","text":"Part two."},
                    {"type":"tool_use","id":"toolu_7","name":"get_weather","input":{"city":"Paris"}}],
         "stop_reason":"tool_use","stop_sequence":null,
         "usage":{"input_tokens":10,"cache_read_input_tokens":30,"cache_creation_input_tokens":5,"output_tokens":12}}
        """;

    [Fact]
    public void Anthropic_message_as_chat_completion_matches_snapshot()
    {
        var result = MessagesToChatCompletionResponse.Translate((JsonObject)JsonNode.Parse(AnthropicMessage)!, Now, "claude-code-opus-4.8");

        Snapshot.Match(JToken.Parse(result.ToJsonString()));
    }

    [Fact]
    public void Anthropic_message_as_responses_object_matches_snapshot()
    {
        var request = (JsonObject)JsonNode.Parse("""{"model":"claude-code-opus-4.8","input":"x","instructions":"Be terse.","max_output_tokens":100}""")!;

        var result = MessagesToResponsesResponse.Translate((JsonObject)JsonNode.Parse(AnthropicMessage)!, request, Now);

        Snapshot.Match(JToken.Parse(result.ToJsonString()));
    }

    [Fact]
    public void Chat_completion_as_anthropic_message_matches_snapshot()
    {
        var completion = (JsonObject)JsonNode.Parse("""
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-5.5-2026-01-01",
             "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Checking.","refusal":null,
               "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}}],
             "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":8}}}
            """)!;

        var result = ChatCompletionToMessagesResponse.Translate(completion);

        Snapshot.Match(JToken.Parse(result.ToJsonString()));
    }

    [Fact]
    public void Usage_keeps_cached_tokens_apart_both_ways()
    {
        var anthropic = UsageMapping.FromAnthropic((JsonObject)JsonNode.Parse("""{"input_tokens":10,"cache_read_input_tokens":30,"cache_creation_input_tokens":5,"output_tokens":12}""")!);
        Assert.Equal(45, anthropic.TotalInputTokens);
        Assert.Equal(30, anthropic.CachedInputTokens);
        Assert.Equal(5, anthropic.CacheWriteTokens);
        Assert.Equal(10, anthropic.InputTokens);

        var openAI = UsageMapping.FromOpenAIChat((JsonObject)JsonNode.Parse("""{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":8}}""")!);
        var back = UsageMapping.ToAnthropic(openAI);
        Assert.Equal(36, (long)back["input_tokens"]!);
        Assert.Equal(64, (long)back["cache_read_input_tokens"]!);
        Assert.Equal(20, (long)back["output_tokens"]!);
        Assert.Equal(8, openAI.ReasoningTokens);
    }

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    [InlineData("model_context_window_exceeded", "length")]
    public void Stop_reasons_map_to_finish_reasons(string stopReason, string finishReason) =>
        Assert.Equal(finishReason, StopReasons.ToFinishReason(stopReason));

    [Theory]
    [InlineData("stop", "end_turn")]
    [InlineData("length", "max_tokens")]
    [InlineData("tool_calls", "tool_use")]
    [InlineData("function_call", "tool_use")]
    [InlineData("content_filter", "refusal")]
    public void Finish_reasons_map_to_stop_reasons(string finishReason, string stopReason) =>
        Assert.Equal(stopReason, StopReasons.ToStopReason(finishReason));

    [Fact]
    public void Max_tokens_answer_is_an_incomplete_response()
    {
        var message = (JsonObject)JsonNode.Parse("""{"id":"msg_2","model":"c","content":[{"type":"text","text":"cut"}],"stop_reason":"max_tokens","usage":{"input_tokens":1,"output_tokens":1}}""")!;

        var result = MessagesToResponsesResponse.Translate(message, null, Now);

        Assert.Equal("incomplete", (string?)result["status"]);
        Assert.Equal("max_output_tokens", (string?)result["incomplete_details"]!["reason"]);
    }

    [Fact]
    public void Invalid_tool_arguments_from_openai_name_the_field()
    {
        var completion = (JsonObject)JsonNode.Parse("""{"id":"c","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{broken"}}]}}]}""")!;

        var error = Assert.Throws<TranslationException>(() => ChatCompletionToMessagesResponse.Translate(completion));

        Assert.Equal("choices[0].message.tool_calls[0].function.arguments", error.Field);
    }

    [Fact]
    public void Several_choices_cannot_become_one_message()
    {
        var completion = (JsonObject)JsonNode.Parse("""{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"a"}},{"index":1,"message":{"role":"assistant","content":"b"}}]}""")!;

        Assert.Equal("choices", Assert.Throws<TranslationException>(() => ChatCompletionToMessagesResponse.Translate(completion)).Field);
    }
}
