using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Tests.Metering;

/// <summary>
/// What the meter hands the settlement, for the answers the fake upstream never sends: cache counts, usage only in
/// message_start, cut streams of every kind of delta. Each case asserts the exact counts a charge is priced from.
/// </summary>
public sealed class UsageMeterMoneyTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly Microsoft.ML.Tokenizers.Tokenizer Tokenizer = new PromptTokenCounter().For("gpt-5.5").Tokenizer;

    [Fact]
    public void Anthropic_stream_cache_reads_and_writes_are_reported_from_message_start()
    {
        var context = Meter(RelayOperation.Messages, true,
            Event("message_start", """{"type":"message_start","message":{"model":"claude-opus-4-8","usage":{"input_tokens":11,"cache_read_input_tokens":300,"cache_creation_input_tokens":40,"output_tokens":1}}}"""),
            Event("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"""),
            Event("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}"""));

        Assert.Equal(new TokenUsage(11, 300, 40, 7), context.ReportedUsage);
        Assert.Equal(new TokenUsage(11, 300, 40, 0), context.ReportedPromptUsage);
        Assert.Equal(0, context.DeliveredOutputTokens);
        Assert.Equal("claude-opus-4-8", context.ResponseModel);
    }

    [Fact]
    public void Anthropic_message_delta_counts_replace_those_of_message_start_count_by_count()
    {
        // Newer API versions repeat the prompt counts in message_delta: the later figure is the final one.
        var context = Meter(RelayOperation.Messages, true,
            Event("message_start", """{"type":"message_start","message":{"model":"claude-opus-4-8","usage":{"input_tokens":11,"cache_read_input_tokens":300,"cache_creation_input_tokens":40}}}"""),
            Event("message_delta", """{"type":"message_delta","usage":{"input_tokens":12,"output_tokens":7}}"""));
        Assert.Equal(new TokenUsage(12, 300, 40, 7), context.ReportedUsage);

        var reads = Meter(RelayOperation.Messages, true,
            Event("message_start", """{"type":"message_start","message":{"model":"claude-opus-4-8","usage":{"input_tokens":11,"cache_read_input_tokens":300,"cache_creation_input_tokens":40}}}"""),
            Event("message_delta", """{"type":"message_delta","usage":{"cache_read_input_tokens":310,"output_tokens":7}}"""));
        Assert.Equal(new TokenUsage(11, 310, 40, 7), reads.ReportedUsage);

        var writes = Meter(RelayOperation.Messages, true,
            Event("message_start", """{"type":"message_start","message":{"model":"claude-opus-4-8","usage":{"input_tokens":11,"cache_read_input_tokens":300,"cache_creation_input_tokens":40}}}"""),
            Event("message_delta", """{"type":"message_delta","usage":{"cache_creation_input_tokens":45,"output_tokens":7}}"""));
        Assert.Equal(new TokenUsage(11, 300, 45, 7), writes.ReportedUsage);
    }

    [Fact]
    public void Anthropic_message_delta_without_message_start_counts_only_when_it_carries_the_prompt()
    {
        var full = Meter(RelayOperation.Messages, true,
            Event("message_delta", """{"type":"message_delta","usage":{"input_tokens":20,"cache_read_input_tokens":5,"cache_creation_input_tokens":6,"output_tokens":3}}"""));
        Assert.Equal(new TokenUsage(20, 5, 6, 3), full.ReportedUsage);
        Assert.Null(full.ReportedPromptUsage);

        // Output alone, with no prompt anywhere, is not a usage to charge from: the delivered text is counted instead.
        var partial = Meter(RelayOperation.Messages, true,
            Event("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello there"}}"""),
            Event("message_delta", """{"type":"message_delta","usage":{"output_tokens":3}}"""));
        Assert.Null(partial.ReportedUsage);
        Assert.Equal(Tokenizer.CountTokens("Hello there"), partial.DeliveredOutputTokens);
    }

    [Fact]
    public void Anthropic_stream_cut_after_message_start_reports_the_prompt_with_its_cache_counts()
    {
        var context = Meter(RelayOperation.Messages, false,
            Event("message_start", """{"type":"message_start","message":{"model":"claude-opus-4-8","usage":{"input_tokens":11,"cache_read_input_tokens":300,"cache_creation_input_tokens":40,"output_tokens":1}}}"""),
            Event("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Once upon a time"}}"""));

        Assert.Null(context.ReportedUsage);
        Assert.Equal(new TokenUsage(11, 300, 40, 0), context.ReportedPromptUsage);
        Assert.Equal(Tokenizer.CountTokens("Once upon a time"), context.DeliveredOutputTokens);

        // A message_start whose usage has no input_tokens reports no prompt.
        var noPrompt = Meter(RelayOperation.Messages, false,
            Event("message_start", """{"type":"message_start","message":{"model":"claude-opus-4-8","usage":{"output_tokens":1}}}"""));
        Assert.Null(noPrompt.ReportedPromptUsage);
    }

    [Fact]
    public void Anthropic_json_answer_reports_cache_reads_and_writes()
    {
        var context = MeterJson(RelayOperation.Messages,
            """{"id":"msg_1","type":"message","model":"claude-opus-4-8","content":[{"type":"text","text":"Hi"}],"usage":{"input_tokens":9,"cache_read_input_tokens":120,"cache_creation_input_tokens":33,"output_tokens":4}}""");
        Assert.Equal(new TokenUsage(9, 120, 33, 4), context.ReportedUsage);
        Assert.Equal(0, context.DeliveredOutputTokens);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OpenAI_cached_and_reasoning_tokens_are_reported_in_both_usage_shapes(bool stream)
    {
        // Responses: input_tokens includes the cached ones; the charge prices them apart.
        var responses = stream
            ? Meter(RelayOperation.Responses, true,
                Data("""{"type":"response.created","response":{"model":"gpt-5.5","usage":null}}"""),
                Data("""{"type":"response.output_text.delta","delta":"Hi"}"""),
                Data("""{"type":"response.completed","response":{"model":"gpt-5.5","usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":64},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":12}}}}"""))
            : MeterJson(RelayOperation.Responses,
                """{"model":"gpt-5.5","output":[],"usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":64},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":12}}}""");
        Assert.Equal(TokenUsage.FromOpenAI(100, 64, 20, 12), responses.ReportedUsage);
        Assert.Equal(new TokenUsage(36, 64, 0, 20, 12), responses.ReportedUsage);

        var chat = stream
            ? Meter(RelayOperation.ChatCompletions, true,
                Data("""{"model":"gpt-5.5","choices":[{"index":0,"delta":{"content":"Hi"}}]}"""),
                Data("""{"choices":[],"usage":{"prompt_tokens":50,"prompt_tokens_details":{"cached_tokens":32},"completion_tokens":9,"completion_tokens_details":{"reasoning_tokens":4}}}"""))
            : MeterJson(RelayOperation.ChatCompletions,
                """{"model":"gpt-5.5","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"}}],"usage":{"prompt_tokens":50,"prompt_tokens_details":{"cached_tokens":32},"completion_tokens":9,"completion_tokens_details":{"reasoning_tokens":4}}}""");
        Assert.Equal(new TokenUsage(18, 32, 0, 9, 4), chat.ReportedUsage);
    }

    public static TheoryData<string, string, string> CutStreams => new()
    {
        { "messages", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Started text"}}""", "Started text" },
        { "messages", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Plain text"}}""", "Plain text" },
        { "messages", """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think about prices"}}""", "Let me think about prices" },
        { "messages", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Paris\"}"}}""", "{\"city\": \"Paris\"}" },
        { "responses", """{"type":"response.output_text.delta","delta":"Output text"}""", "Output text" },
        { "responses", """{"type":"response.function_call_arguments.delta","delta":"{\"city\":\"Oslo\"}"}""", "{\"city\":\"Oslo\"}" },
        { "responses", """{"type":"response.reasoning_summary_text.delta","delta":"Summarised reasoning"}""", "Summarised reasoning" },
        { "responses", """{"type":"response.refusal.delta","delta":"I cannot help with that"}""", "I cannot help with that" },
        { "chat", """{"choices":[{"index":0,"delta":{"content":"Chat content"}}]}""", "Chat content" },
        { "chat", """{"choices":[{"index":0,"delta":{"refusal":"Refused politely"}}]}""", "Refused politely" },
        { "chat", """{"choices":[{"index":0,"delta":{"reasoning_content":"Reasoning first"}}]}""", "Reasoning first" },
        { "chat", """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]}}]}""", "get_weather{\"city\":\"Rome\"}" },
    };

    [Theory]
    [MemberData(nameof(CutStreams))]
    public void A_cut_stream_without_usage_counts_every_kind_of_delivered_output(string endpoint, string delta, string text)
    {
        var operation = endpoint switch { "messages" => RelayOperation.Messages, "responses" => RelayOperation.Responses, _ => RelayOperation.ChatCompletions };
        var first = endpoint switch
        {
            "messages" => """{"type":"message_start","message":{"model":"claude-opus-4-8"}}""",
            "responses" => """{"type":"response.created","response":{"model":"gpt-5.5"}}""",
            _ => """{"model":"gpt-5.5","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}""",
        };

        // Once before the model is known (read at once), once after it (put aside and read at the end).
        var early = Meter(operation, false, Data(delta));
        var late = Meter(operation, false, Data(first), Data(delta), Data(delta));
        Assert.Null(early.ReportedUsage);
        Assert.Null(late.ReportedUsage);
        Assert.Equal(Tokenizer.CountTokens(text), early.DeliveredOutputTokens);
        Assert.Equal(Tokenizer.CountTokens(text + text), late.DeliveredOutputTokens);
    }

    [Fact]
    public void A_json_answer_without_usage_counts_every_kind_of_delivered_output()
    {
        var messages = MeterJson(RelayOperation.Messages,
            """{"model":"claude-opus-4-8","content":[{"type":"text","text":"Checking"},{"type":"tool_use","id":"t1","name":"weather","input":{"city":"Paris"}}]}""");
        Assert.Equal(Tokenizer.CountTokens("Checking" + """{"city":"Paris"}"""), messages.DeliveredOutputTokens);

        var responses = MeterJson(RelayOperation.Responses,
            """{"model":"gpt-5.5","output":[{"type":"function_call","arguments":"{\"city\":\"Oslo\"}"},{"type":"message","content":[{"type":"output_text","text":"Done"}]}]}""");
        Assert.Equal(Tokenizer.CountTokens("""{"city":"Oslo"}""" + "Done"), responses.DeliveredOutputTokens);

        var chat = MeterJson(RelayOperation.ChatCompletions,
            """{"model":"gpt-5.5","choices":[{"index":0,"message":{"role":"assistant","content":"Sure","refusal":"no","reasoning_content":"hmm","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}""");
        Assert.Equal(Tokenizer.CountTokens("Surenohmmf{}"), chat.DeliveredOutputTokens);

        // A body cut before its end is not read: nothing to count from half a document.
        var cut = MeterJson(RelayOperation.ChatCompletions, """{"model":"gpt-5.5","choices":[{"index":0,"message":{"content":"Sure"}}]}""", completed: false);
        Assert.Equal(0, cut.DeliveredOutputTokens);
    }

    [Fact]
    public void Reported_counts_of_zero_and_of_the_largest_believable_count_are_charged_as_reported()
    {
        // The bounds of what a count may be are themselves believable: 0 and 100 million tokens are taken, not
        // replaced by a count of the delivered text.
        var chat = MeterJson(RelayOperation.ChatCompletions,
            """{"model":"gpt-5.5","choices":[{"index":0,"message":{"content":"Sure"}}],"usage":{"prompt_tokens":100000000,"completion_tokens":0}}""");
        Assert.Equal(TokenUsage.FromOpenAI(UsageMeter.MaxReportedTokens, 0, 0, 0), chat.ReportedUsage);
        Assert.Equal(0, chat.DeliveredOutputTokens);

        var messages = MeterJson(RelayOperation.Messages,
            """{"model":"claude-opus-4-8","content":[{"type":"text","text":"Sure"}],"usage":{"input_tokens":0,"cache_read_input_tokens":100000000,"cache_creation_input_tokens":0,"output_tokens":100000000}}""");
        Assert.Equal(TokenUsage.FromAnthropic(0, UsageMeter.MaxReportedTokens, 0, UsageMeter.MaxReportedTokens), messages.ReportedUsage);
        Assert.Equal(0, messages.DeliveredOutputTokens);
    }

    private static string Event(string name, string json) => $"event: {name}\ndata: {json}\n\n";

    private static string Data(string json) => $"data: {json}\n\n";

    private static RelayRequestContext Meter(RelayOperation operation, bool completed, params string[] events) =>
        Run(operation, Encoding.UTF8.GetBytes(string.Concat(events)), "text/event-stream", completed);

    private static RelayRequestContext MeterJson(RelayOperation operation, string body, bool completed = true) =>
        Run(operation, Encoding.UTF8.GetBytes(body), "application/json", completed);

    private static RelayRequestContext Run(RelayOperation operation, byte[] bytes, string contentType, bool completed)
    {
        var time = new FakeTimeProvider(Start);
        var context = new RelayRequestContext(new DefaultHttpContext(), operation, operation.Format, "req_test", Start);
        var meter = new UsageMeter(context, time, text => Tokenizer.CountTokens(text));
        using var response = new HttpResponseMessage { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        meter.OnResponseStarted(response);
        for (var offset = 0; offset < bytes.Length; offset += 5)
        {
            meter.OnBodyChunk(bytes.AsSpan(offset, Math.Min(5, bytes.Length - offset)));
        }

        meter.OnResponseEnded(completed);
        return context;
    }
}
