using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Tests.Metering;

/// <summary>
/// The meter at its edges (issue 24's UsageMeter survivors): the JSON body cap, a stream cut after a last event that
/// lacks its blank line, the answer's text kept for the usage record, an empty chunk and a model named empty. Each case
/// asserts the counts a charge is priced from, or the text and figures the record keeps.
/// </summary>
public sealed class UsageMeterEdgeTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly Microsoft.ML.Tokenizers.Tokenizer Tokenizer = new PromptTokenCounter().For("gpt-5.5").Tokenizer;

    private const string ChatUsageBody = """{"model":"gpt-5.5","choices":[{"index":0,"message":{"content":"Sure"}}],"usage":{"prompt_tokens":21,"completion_tokens":4}}""";

    [Fact]
    public void A_json_body_of_exactly_the_cap_is_metered_and_one_byte_more_is_not()
    {
        // Padded with trailing white space (valid JSON) to exactly the cap, then to the cap and one byte.
        var atCap = Padded(ChatUsageBody, UsageMeter.JsonBodyCap);
        var context = Run(RelayOperation.ChatCompletions, [atCap], "application/json", completed: true);
        Assert.Equal(TokenUsage.FromOpenAI(21, 0, 4), context.ReportedUsage);

        // Over the cap the body is not parsed: no usage, and no delivered text counted from it.
        var overCap = Padded(ChatUsageBody, UsageMeter.JsonBodyCap + 1);
        var over = Run(RelayOperation.ChatCompletions, [overCap], "application/json", completed: true);
        Assert.Null(over.ReportedUsage);
        Assert.Equal(0, over.DeliveredOutputTokens);

        // The cap is passed part-way: the chunks before and after it are dropped alike.
        var split = Run(RelayOperation.ChatCompletions,
            [overCap.AsSpan(0, 1000).ToArray(), overCap.AsSpan(1000, overCap.Length - 1001).ToArray(), overCap.AsSpan(overCap.Length - 1).ToArray()],
            "application/json", completed: true);
        Assert.Null(split.ReportedUsage);
        Assert.Equal(0, split.DeliveredOutputTokens);
    }

    [Fact]
    public void A_stream_whose_last_event_lacks_its_blank_line_still_reports_that_events_usage_and_text()
    {
        var usage = Run(RelayOperation.ChatCompletions,
            [Bytes("data: {\"model\":\"gpt-5.5\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n"
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}")],
            "text/event-stream", completed: false);
        Assert.Equal(TokenUsage.FromOpenAI(9, 0, 2), usage.ReportedUsage);

        // Without usage, the last event's text is delivered output and is charged.
        var text = Run(RelayOperation.ChatCompletions,
            [Bytes("data: {\"model\":\"gpt-5.5\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"}}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Cut right here\"}}]}")],
            "text/event-stream", completed: false);
        Assert.Null(text.ReportedUsage);
        Assert.Equal(Tokenizer.CountTokens("Cut right here"), text.DeliveredOutputTokens);
    }

    [Fact]
    public void With_content_recording_on_the_record_keeps_the_answers_text_even_when_usage_was_reported()
    {
        var stream = Run(RelayOperation.ChatCompletions,
            [Bytes("data: {\"model\":\"gpt-5.5\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello \"}}]}\n\n"
                + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"there\"}}]}\n\n"
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n"
                + "data: [DONE]\n\n")],
            "text/event-stream", completed: true, contentChars: 1000);
        Assert.Equal(TokenUsage.FromOpenAI(9, 0, 2), stream.ReportedUsage);
        Assert.Equal("Hello there", stream.CompletionText);
        // The usage is what is charged: the kept text is not counted on top.
        Assert.Equal(0, stream.DeliveredOutputTokens);

        var json = Run(RelayOperation.ChatCompletions, [Bytes(ChatUsageBody)], "application/json", completed: true, contentChars: 1000);
        Assert.Equal(TokenUsage.FromOpenAI(21, 0, 4), json.ReportedUsage);
        Assert.Equal("Sure", json.CompletionText);
        Assert.Equal(0, json.DeliveredOutputTokens);
    }

    [Fact]
    public void The_kept_text_is_cut_at_the_configured_length_and_is_empty_for_an_answer_without_text()
    {
        var cut = Run(RelayOperation.ChatCompletions,
            [Bytes("""{"model":"gpt-5.5","choices":[{"index":0,"message":{"content":"Hello world"}}]}""")],
            "application/json", completed: true, contentChars: 5);
        Assert.Equal("Hello", cut.CompletionText);
        // No usage: the whole delivered text is charged, not the kept part.
        Assert.Equal(Tokenizer.CountTokens("Hello world"), cut.DeliveredOutputTokens);

        var empty = Run(RelayOperation.ChatCompletions, [Bytes(ChatUsageBody.Replace("Sure", "", StringComparison.Ordinal))],
            "application/json", completed: true, contentChars: 5);
        Assert.Equal("", empty.CompletionText);

        // Content recording off: nothing is kept.
        var off = Run(RelayOperation.ChatCompletions, [Bytes(ChatUsageBody)], "application/json", completed: true);
        Assert.Null(off.CompletionText);
    }

    [Fact]
    public void An_empty_chunk_is_not_the_first_byte()
    {
        var time = new FakeTimeProvider(Start);
        var context = NewContext(RelayOperation.ChatCompletions);
        var meter = new UsageMeter(context, time, text => Tokenizer.CountTokens(text));
        using var response = Response("application/json");
        meter.OnResponseStarted(response);

        meter.OnBodyChunk([]);
        time.Advance(TimeSpan.FromMilliseconds(250));
        meter.OnBodyChunk(Bytes(ChatUsageBody));
        meter.OnResponseEnded(true);

        // The record's time to first byte starts at the first real byte, not at an empty read before it.
        Assert.Equal(Start + TimeSpan.FromMilliseconds(250), context.FirstByteAt);
        Assert.Equal(TokenUsage.FromOpenAI(21, 0, 4), context.ReportedUsage);
    }

    [Fact]
    public void A_chunk_naming_the_model_empty_does_not_hide_the_model_named_later()
    {
        var context = Run(RelayOperation.ChatCompletions,
            [Bytes("data: {\"model\":\"\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"}}]}\n\n"
                + "data: {\"model\":\"gpt-5.5-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
                + "data: {\"model\":\"gpt-5.5-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n")],
            "text/event-stream", completed: true);
        Assert.Equal("gpt-5.5-mini", context.ResponseModel);
        Assert.Equal(TokenUsage.FromOpenAI(3, 0, 1), context.ReportedUsage);
    }

    [Fact]
    public void A_whole_answer_handed_in_parsed_is_read_from_that_parse_and_the_meters_own_copy_is_not_read_again()
    {
        // The translator of a whole answer parses it once and hands the meter that document. The meter's own copy here
        // holds other counts, so the counts charged say which one was read, and that it was read only once.
        var context = NewContext(RelayOperation.ChatCompletions);
        var meter = new UsageMeter(context, new FakeTimeProvider(Start), text => Tokenizer.CountTokens(text));
        using var response = Response("application/json");
        meter.OnResponseStarted(response);
        meter.OnBodyChunk(Bytes(ChatUsageBody));
        using (var handed = System.Text.Json.JsonDocument.Parse(ChatUsageBody.Replace("\"prompt_tokens\":21", "\"prompt_tokens\":33", StringComparison.Ordinal)))
        {
            meter.OnWholeAnswer(handed.RootElement);
        }

        meter.OnResponseEnded(completed: true);
        Assert.Equal(TokenUsage.FromOpenAI(33, 0, 4), context.ReportedUsage);

        // A body over the meter's cap is not metered, handed in or not.
        var over = NewContext(RelayOperation.ChatCompletions);
        var overMeter = new UsageMeter(over, new FakeTimeProvider(Start), text => Tokenizer.CountTokens(text));
        overMeter.OnResponseStarted(response);
        overMeter.OnBodyChunk(Padded(ChatUsageBody, UsageMeter.JsonBodyCap + 1));
        using (var handed = System.Text.Json.JsonDocument.Parse(ChatUsageBody))
        {
            overMeter.OnWholeAnswer(handed.RootElement);
        }

        overMeter.OnResponseEnded(completed: true);
        Assert.Null(over.ReportedUsage);
    }

    [Fact]
    public void Array_items_that_are_not_objects_are_passed_over_and_the_rest_of_the_answer_is_still_metered()
    {
        // An upstream's answer is not trusted to be well formed: a number or string where an object belongs must not
        // stop the meter (it would leave the answer uncharged); the readable rest is counted as usual.
        var chat = Run(RelayOperation.ChatCompletions,
            [Bytes("""{"model":"gpt-5.5","choices":[1,{"index":0,"message":{"content":"Sure","tool_calls":["x",{"function":{"name":"f","arguments":"{}"}}]}}]}""")],
            "application/json", completed: true);
        Assert.Null(chat.ReportedUsage);
        Assert.Equal(Tokenizer.CountTokens("Suref{}"), chat.DeliveredOutputTokens);

        var messages = Run(RelayOperation.Messages,
            [Bytes("""{"model":"claude-x","content":["x",7,{"type":"text","text":"Hi there"}]}""")],
            "application/json", completed: true);
        Assert.Null(messages.ReportedUsage);
        Assert.Equal(Tokenizer.CountTokens("Hi there"), messages.DeliveredOutputTokens);

        var responses = Run(RelayOperation.Responses,
            [Bytes("""{"model":"gpt-5.5","output":[1,{"type":"message","content":[2,{"type":"output_text","text":"Yo"}]}]}""")],
            "application/json", completed: true);
        Assert.Null(responses.ReportedUsage);
        Assert.Equal(Tokenizer.CountTokens("Yo"), responses.DeliveredOutputTokens);

        var stream = Run(RelayOperation.ChatCompletions,
            [Bytes("data: {\"model\":\"gpt-5.5\",\"choices\":[null,{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n"
                + "data: {\"choices\":[\"x\"],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n")],
            "text/event-stream", completed: false);
        Assert.Equal(TokenUsage.FromOpenAI(9, 0, 2), stream.ReportedUsage);
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Padded(string json, int length)
    {
        var bytes = new byte[length];
        var written = Encoding.UTF8.GetBytes(json, bytes);
        bytes.AsSpan(written).Fill((byte)' ');
        return bytes;
    }

    private static RelayRequestContext NewContext(RelayOperation operation) =>
        new(new DefaultHttpContext(), operation, operation.Format, "req_test", Start);

    private static HttpResponseMessage Response(string contentType)
    {
        var response = new HttpResponseMessage { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        return response;
    }

    private static RelayRequestContext Run(RelayOperation operation, byte[][] chunks, string contentType, bool completed, int? contentChars = null)
    {
        var context = NewContext(operation);
        var meter = new UsageMeter(context, new FakeTimeProvider(Start), text => Tokenizer.CountTokens(text), contentChars);
        using var response = Response(contentType);
        meter.OnResponseStarted(response);
        foreach (var chunk in chunks)
        {
            meter.OnBodyChunk(chunk);
        }

        meter.OnResponseEnded(completed);
        return context;
    }
}
