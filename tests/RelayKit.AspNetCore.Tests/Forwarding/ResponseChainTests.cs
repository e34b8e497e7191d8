using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Translation.Relay;

namespace RelayKit.AspNetCore.Tests.Forwarding;

/// <summary>
/// The answer's one pass: one split and one parse per event feed the meter, the end watch, the usage-chunk stripper,
/// the caller-model rename and the translator, wherever the upstream's chunks happen to be cut.
/// </summary>
public sealed class ResponseChainTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public void A_chat_stream_reaches_the_caller_byte_for_byte_but_for_its_model_and_the_usage_chunk_it_did_not_ask_for(int chunkSize)
    {
        const string Usage = "data: {\"id\":\"c\",\"model\":\"gpt-up-2026\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\r\n\r\n";
        var upstream =
            ": keep-alive comment\r\n\r\n"
            + "data: {\"id\":\"c\",\"model\":\"gpt-up-2026\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"the \\\"model\\\" said\"}}]}\r\n\r\n"
            + "data: {\"id\":\"c\",\"model\":\"gpt-up-2026\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n"
            + Usage
            + "data: [DONE]\r\n\r\n";
        var context = Context(RelayOperation.ChatCompletions);
        var meter = Meter(context);

        var (output, chain) = Run(
            new ResponseChain(meter, translator: null, new CallerModelNameTransform("my-model"), strip: true), context, upstream, chunkSize);

        Assert.Equal(
            upstream.Replace(Usage, "", StringComparison.Ordinal).Replace("\"model\":\"gpt-up-2026\"", "\"model\":\"my-model\"", StringComparison.Ordinal),
            output);
        Assert.True(chain.Watch!.Ended);
        Assert.Equal(TokenUsage.FromOpenAI(12, 0, 4), context.ReportedUsage);
        Assert.Equal("gpt-up-2026", context.ResponseModel);
    }

    [Fact]
    public void A_broken_event_and_a_huge_one_pass_as_they_came_and_the_usage_after_them_is_still_read()
    {
        var text = new string('x', 1_500_000);
        var upstream =
            "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"delta\":{\"content\":\"unterminated\n\n"
            + "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"}}]}\n\n"
            + "data: {\"id\":\"c\",\"model\":\"up\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":375000}}\n\n"
            + "data: [DONE]\n\n";
        var context = Context(RelayOperation.ChatCompletions);

        var (output, chain) = Run(
            new ResponseChain(Meter(context), translator: null, new CallerModelNameTransform("up"), strip: false), context, upstream, 16 * 1024);

        Assert.Equal(upstream, output);
        Assert.True(chain.Watch!.Ended);
        Assert.Equal(TokenUsage.FromOpenAI(3, 0, 375000), context.ReportedUsage);
    }

    [Fact]
    public void A_translated_stream_meters_the_usage_that_follows_an_event_that_does_not_translate()
    {
        var context = Translated();
        var chain = new ResponseChain(context.Meter, Translator(context), rename: null, strip: false);
        StartStream(chain, context);
        var upstream = Encoding.UTF8.GetBytes(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-up\",\"content\":[],\"usage\":{\"input_tokens\":21,\"output_tokens\":1}}}\n\n"
            + "event: content_block_delta\ndata: [\"not\",\"an\",\"object\"]\n\n"
            + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}\n\n");

        // The bad event fails the translation, but only once the whole chunk is metered: the upstream bills those 9 tokens.
        Assert.Throws<TranslationException>(() => chain.Push(upstream));
        chain.End(completed: false);
        chain.Dispose();

        Assert.Equal(TokenUsage.FromAnthropic(21, 0, 0, 9), context.ReportedUsage);
    }

    [Fact]
    public void A_translated_stream_tells_the_caller_the_usage_the_meter_read_not_an_absurd_count()
    {
        var context = Translated();
        var chain = new ResponseChain(context.Meter, Translator(context), rename: null, strip: false);
        StartStream(chain, context);
        var output = RunWhole(chain, AnthropicAnswerSayingHi("1e30"));

        // The meter refused the count (no usage is charged from it); the caller's usage chunk says what the meter kept.
        Assert.Null(context.ReportedUsage);
        var usageChunk = output.Split("\n\n").Single(frame => frame.Contains("\"usage\":{", StringComparison.Ordinal));
        var usage = JsonNode.Parse(usageChunk["data: ".Length..])!["usage"]!;
        Assert.Equal(21, usage["prompt_tokens"]!.GetValue<long>());
        Assert.Equal(0, usage["completion_tokens"]!.GetValue<long>());
        Assert.True(chain.StreamCompleted);
    }

    private static (string Output, ResponseChain Chain) Run(ResponseChain chain, RelayRequestContext context, string upstream, int chunkSize)
    {
        StartStream(chain, context);
        var bytes = Encoding.UTF8.GetBytes(upstream);
        using var caller = new MemoryStream();
        for (var at = 0; at < bytes.Length; at += chunkSize)
        {
            caller.Write(chain.Push(bytes.AsMemory(at, Math.Min(chunkSize, bytes.Length - at))).Span);
        }

        caller.Write(chain.Finish(clean: true).Span);
        chain.End(completed: true);
        chain.Dispose();
        return (Encoding.UTF8.GetString(caller.ToArray()), chain);
    }

    [Fact]
    public void A_translated_stream_whose_media_type_is_written_in_capitals_is_translated_event_by_event()
    {
        // Media types are case-insensitive (RFC 9110): the chain splits such a stream into events, so the translator
        // must take it as a stream too, not as a whole answer that cannot be parsed.
        var context = Translated();
        var chain = new ResponseChain(context.Meter, Translator(context), rename: null, strip: false);
        using (var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent([]) })
        {
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("Text/Event-Stream");
            chain.Start(context.UpstreamOperation, response, context.HttpContext.Response);
        }

        var output = RunWhole(chain, AnthropicAnswerSayingHi("5"));

        Assert.True(chain.StreamCompleted);
        Assert.StartsWith("text/event-stream", context.HttpContext.Response.ContentType, StringComparison.Ordinal);
        Assert.Contains("\"content\":\"Hi\"", output, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", output, StringComparison.Ordinal);
        Assert.Equal(TokenUsage.FromAnthropic(21, 0, 0, 5), context.ReportedUsage);
    }

    /// <summary>An Anthropic stream answering "Hi", 21 prompt tokens, its final output count as given.</summary>
    private static string AnthropicAnswerSayingHi(string outputTokens) =>
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-up\",\"content\":[],\"usage\":{\"input_tokens\":21,\"output_tokens\":1}}}\n\n"
        + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        + "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        + $"event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}},\"usage\":{{\"output_tokens\":{outputTokens}}}}}\n\n"
        + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    /// <summary>The whole upstream text through a started chain in one chunk, then its end; what the caller received.</summary>
    private static string RunWhole(ResponseChain chain, string upstream)
    {
        var output = new StringBuilder();
        output.Append(Encoding.UTF8.GetString(chain.Push(Encoding.UTF8.GetBytes(upstream)).Span));
        output.Append(Encoding.UTF8.GetString(chain.Finish(clean: true).Span));
        chain.End(completed: true);
        chain.Dispose();
        return output.ToString();
    }

    private static void StartStream(ResponseChain chain, RelayRequestContext context)
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
        chain.Start(context.UpstreamOperation, response, context.HttpContext.Response);
    }

    private static RelayRequestContext Context(RelayOperation operation) =>
        new(new DefaultHttpContext(), operation, operation.Format, "req_chain", Start);

    private static UsageMeter Meter(RelayRequestContext context) =>
        new(context, new FakeTimeProvider(Start), text => text.Length / 4);

    /// <summary>A Chat Completions caller (usage asked for) whose request went to an Anthropic upstream.</summary>
    private static RelayRequestContext Translated()
    {
        var context = Context(RelayOperation.ChatCompletions);
        var callerBody = new JsonObject
        {
            ["model"] = "gpt-caller",
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        var raw = "{\"model\":\"claude-up\",\"max_tokens\":10,\"messages\":[]}"u8.ToArray();
        context.Meter = Meter(context);
        context.Translation = new TranslatedRequest(WireFormat.Anthropic, "v1/messages", new RelayRequestBody(raw, JsonDocument.Parse(raw)), callerBody, "gpt-caller");
        return context;
    }

    private static TranslatingResponseTransform Translator(RelayRequestContext context) =>
        new(context.Operation, context.Translation!.CallerBody, context.Translation.CallerModel, Start, context.Meter);
}
