using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Metering;

/// <summary>The meter over the fake upstream's real output, fed in small chunks that split events and characters.</summary>
public sealed class UsageMeterTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static TheoryData<string, bool> Cases => new()
    {
        { "chat", false }, { "chat", true }, { "responses", false }, { "responses", true }, { "messages", false }, { "messages", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Reads_the_usage_and_model_the_upstream_reported(string endpoint, bool stream)
    {
        var (bytes, contentType) = await CallFakeAsync(endpoint, stream, null);
        var (context, time) = Meter(endpoint, bytes, contentType, completed: true);

        var expected = ExpectedUsage(endpoint, Encoding.UTF8.GetString(bytes), stream);
        Assert.Equal(expected, context.ReportedUsage);
        Assert.Equal(endpoint == "messages" ? "claude-opus-4-8" : "gpt-5.5", context.ResponseModel);
        Assert.NotEqual(time.GetUtcNow(), context.FirstByteAt);
        Assert.Equal(Start.AddMilliseconds(250), context.FirstByteAt);

        // With usage reported, the delivered text is not tokenized: nothing settles from it.
        Assert.Equal(0, context.DeliveredOutputTokens);
        if (!stream)
        {
            // The same answer without its usage: what was delivered is counted, and it is the output the
            // upstream counted, give or take the tokenizer's splits.
            var body = System.Text.Json.Nodes.JsonNode.Parse(bytes)!.AsObject();
            Assert.True(body.Remove("usage"));
            var (unreported, _) = Meter(endpoint, Encoding.UTF8.GetBytes(body.ToJsonString()), contentType, completed: true);
            Assert.Null(unreported.ReportedUsage);
            Assert.InRange(unreported.DeliveredOutputTokens, Math.Max(1, expected.OutputTokens / 2), (expected.OutputTokens * 2) + 2);
        }
    }

    [Fact]
    public async Task Embeddings_usage_is_prompt_only()
    {
        var (bytes, contentType) = await CallFakeAsync("embeddings", false, null);
        var (context, _) = Meter("embeddings", bytes, contentType, completed: true);
        var usage = JsonDocument.Parse(bytes).RootElement.GetProperty("usage");
        Assert.Equal(TokenUsage.FromOpenAI(usage.GetProperty("prompt_tokens").GetInt64(), 0, 0), context.ReportedUsage);
    }

    [Theory]
    [InlineData("chat")]
    [InlineData("messages")]
    [InlineData("responses")] // its first four events carry no text
    public async Task A_cut_stream_reports_no_usage_but_counts_what_was_delivered(string endpoint)
    {
        var (bytes, contentType) = await CallFakeAsync(endpoint, true, endpoint == "responses" ? "cut-stream; after=8" : "cut-stream; after=4");
        var (context, _) = Meter(endpoint, bytes, contentType, completed: false);
        // Anthropic's message_start came before the cut, but without message_delta no usage is final.
        Assert.Null(context.ReportedUsage);

        Assert.True(context.DeliveredOutputTokens > 0);
    }

    [Fact]
    public void Usage_in_an_event_the_fast_path_put_aside_is_still_found_at_the_end()
    {
        // The usage key written with an escape: the in-line check for "usage" misses it, the end does not.
        var stream = string.Join("", [
            "data: {\"model\":\"gpt-5.5\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello there\"}}]}\n\n",
            "data: {\"choices\":[],\"us\\u0061ge\":{\"prompt_tokens\":11,\"completion_tokens\":3,\"total_tokens\":14}}\n\n",
            "data: [DONE]\n\n"]);
        var (context, _) = Meter("chat", Encoding.UTF8.GetBytes(stream), "text/event-stream", completed: true);

        Assert.Equal(TokenUsage.FromOpenAI(11, 0, 3), context.ReportedUsage);
        Assert.Equal("gpt-5.5", context.ResponseModel);
        Assert.Equal(0, context.DeliveredOutputTokens);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("1e30")]
    [InlineData("\"12\"")]
    [InlineData("12.5")]
    [InlineData("9200000000000000000")]
    [InlineData("100000001")]
    public void Absurd_streamed_usage_is_ignored_and_the_delivered_text_counted(string count)
    {
        var chat = string.Join("", [
            "data: {\"model\":\"gpt-5.5\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello there\"}}]}\n\n",
            $"data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":11,\"completion_tokens\":{count},\"total_tokens\":14}}}}\n\n",
            "data: [DONE]\n\n"]);
        var (context, _) = Meter("chat", Encoding.UTF8.GetBytes(chat), "text/event-stream", completed: true);
        Assert.Null(context.ReportedUsage);
        Assert.Equal(new PromptTokenCounter().For("gpt-5.5").Tokenizer.CountTokens("Hello there"), context.DeliveredOutputTokens);

        // Anthropic: an absurd prompt count in message_start is not the prompt a cut stream is charged for either.
        var messages = string.Join("", [
            $"event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"model\":\"claude-opus-4-8\",\"usage\":{{\"input_tokens\":{count},\"output_tokens\":1}}}}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello there\"}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"]);
        var (anthropic, _) = Meter("messages", Encoding.UTF8.GetBytes(messages), "text/event-stream", completed: true);
        Assert.Null(anthropic.ReportedPromptUsage);
        Assert.Null(anthropic.ReportedUsage);
        Assert.True(anthropic.DeliveredOutputTokens > 0);
    }

    [Fact]
    public void An_error_body_reports_nothing()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"error":{"message":"boom","type":"server_error","param":null,"code":null},"usage":{"prompt_tokens":5,"completion_tokens":5}}""");
        var (context, _) = Meter("chat", bytes, "application/json", completed: true);
        Assert.Null(context.ReportedUsage);
        Assert.Equal(0, context.DeliveredOutputTokens);
    }

    private static (RelayRequestContext Context, FakeTimeProvider Time) Meter(string endpoint, byte[] bytes, string contentType, bool completed)
    {
        var time = new FakeTimeProvider(Start);
        var operation = Operation(endpoint);
        var context = new RelayRequestContext(new DefaultHttpContext(), operation, operation.Format, "req_test", Start);
        var (tokenizer, _) = new PromptTokenCounter().For("gpt-5.5");
        var meter = new UsageMeter(context, time, text => tokenizer.CountTokens(text));
        using var response = new HttpResponseMessage { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        meter.OnResponseStarted(response);
        time.Advance(TimeSpan.FromMilliseconds(250));
        for (var offset = 0; offset < bytes.Length; offset += 7)
        {
            meter.OnBodyChunk(bytes.AsSpan(offset, Math.Min(7, bytes.Length - offset)));
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        meter.OnResponseEnded(completed);
        return (context, time);
    }

    private static RelayOperation Operation(string endpoint) => endpoint switch
    {
        "chat" => RelayOperation.ChatCompletions,
        "responses" => RelayOperation.Responses,
        "messages" => RelayOperation.Messages,
        _ => RelayOperation.Embeddings,
    };

    private static async Task<(byte[] Bytes, string ContentType)> CallFakeAsync(string endpoint, bool stream, string? fault)
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 3 });
        var http = fake.CreateClient();
        var (path, body) = endpoint switch
        {
            "chat" => ("v1/chat/completions", $$"""{"model":"gpt-5.5","stream":{{Json(stream)}},{{(stream ? "\"stream_options\":{\"include_usage\":true}," : "")}}"messages":[{"role":"user","content":"Tell me a story about prices 💸"}]}"""),
            "responses" => ("v1/responses", $$"""{"model":"gpt-5.5","stream":{{Json(stream)}},"input":"Tell me a story about prices 💸"}"""),
            "messages" => ("v1/messages", $$"""{"model":"claude-opus-4-8","max_tokens":400,"stream":{{Json(stream)}},"messages":[{"role":"user","content":"Tell me a story about prices 💸"}]}"""),
            _ => ("v1/embeddings", """{"model":"text-embedding-3-small","input":["one","two three"]}"""),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("anthropic-version", "2023-06-01");
        if (fault is not null)
        {
            request.Headers.Add("x-fake-fault", fault);
        }

        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadAsByteArrayAsync(), response.Content.Headers.ContentType!.MediaType!);
    }

    private static string Json(bool value) => value ? "true" : "false";

    /// <summary>The usage as a reader of the whole answer sees it (independent of the meter's chunked reading).</summary>
    private static TokenUsage ExpectedUsage(string endpoint, string text, bool stream)
    {
        var documents = stream
            ? text.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l[6..]).RootElement).ToList()
            : [JsonDocument.Parse(text).RootElement];
        switch (endpoint)
        {
            case "messages" when stream:
                var start = documents.Single(d => d.GetProperty("type").GetString() == "message_start").GetProperty("message").GetProperty("usage");
                var delta = documents.Single(d => d.GetProperty("type").GetString() == "message_delta").GetProperty("usage");
                return TokenUsage.FromAnthropic(start.GetProperty("input_tokens").GetInt64(), 0, 0, delta.GetProperty("output_tokens").GetInt64());
            case "messages":
                var usage = documents[0].GetProperty("usage");
                return TokenUsage.FromAnthropic(usage.GetProperty("input_tokens").GetInt64(), 0, 0, usage.GetProperty("output_tokens").GetInt64());
            case "responses":
                var final = stream ? documents.Single(d => d.GetProperty("type").GetString() == "response.completed").GetProperty("response") : documents[0];
                var r = final.GetProperty("usage");
                return TokenUsage.FromOpenAI(r.GetProperty("input_tokens").GetInt64(), 0, r.GetProperty("output_tokens").GetInt64());
            default:
                var chat = documents.Last(d => d.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object).GetProperty("usage");
                return TokenUsage.FromOpenAI(chat.GetProperty("prompt_tokens").GetInt64(), 0, chat.GetProperty("completion_tokens").GetInt64());
        }
    }
}
