using System.Text;
using System.Text.Json.Nodes;
using static RelayKit.Testing.Tests.Cassettes.CassetteHttp;

namespace RelayKit.Testing.Tests.Cassettes;

/// <summary>
/// Structured outputs, several choices, log probabilities and thinking, recorded from a fake upstream and replayed:
/// in the recorded form unchanged, and converted (a stream answering a whole request and the reverse) with the
/// same content.
/// </summary>
public sealed class CassetteOutputShapesTests : IAsyncDisposable
{
    private const string CitySchema = """
        {"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer","minimum":1}},"required":["city","population"],"additionalProperties":false}
        """;

    private readonly CassetteFolder _folder = new();
    private readonly FakeUpstream _upstream = new(new FakeUpstreamOptions { Seed = 31 });

    public async ValueTask DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task A_streamed_chat_answer_with_a_schema_two_choices_and_logprobs_replays_unchanged_and_assembles()
    {
        var request = ChatRequest(stream: true);
        var recorded = await RecordStreamAsync("chat-stream", "/v1/chat/completions", request);

        await using var replayer = Fake("chat-stream", CassetteRecordMode.None);
        var replayed = await SendStreamAsync(replayer.CreateClient(), Post("/v1/chat/completions", request));
        AssertSameEvents(recorded, replayed);

        request.Remove("stream");
        request.Remove("stream_options");
        await using var converter = Fake("chat-stream", CassetteRecordMode.None);
        var whole = await SendJsonAsync(converter.CreateClient(), Post("/v1/chat/completions", request));
        Assert.True(whole.Status == 200, whole.Text);
        var chunks = recorded.Where(e => e.Data != "[DONE]").Select(e => JsonNode.Parse(e.Data)!).ToList();
        for (var index = 0; index < 2; index++)
        {
            var choice = whole.Body!["choices"]![index]!;
            var deltas = chunks.SelectMany(c => c["choices"]!.AsArray()).Where(c => (int)c!["index"]! == index).ToList();
            var content = string.Concat(deltas.Select(d => (string?)d!["delta"]!["content"]));
            Assert.Equal(content, (string?)choice["message"]!["content"]);
            JsonNode.Parse(content);
            var entries = new JsonArray([.. deltas.SelectMany(d => d!["logprobs"]?["content"]?.AsArray() ?? []).Select(e => e!.DeepClone())]);
            Assert.Equal(2, entries.Count > 0 ? entries[0]!["top_logprobs"]!.AsArray().Count : -1);
            Assert.True(JsonNode.DeepEquals(entries, choice["logprobs"]!["content"]), whole.Text);
        }

        Assert.True(JsonNode.DeepEquals(chunks[^1]["usage"], whole.Body!["usage"]));
    }

    [Fact]
    public async Task A_whole_chat_answer_with_a_schema_two_choices_and_logprobs_replays_unchanged_and_streams()
    {
        var request = ChatRequest(stream: false);
        var recorded = await RecordWholeAsync("chat-whole", "/v1/chat/completions", request);
        Assert.Equal(2, recorded["choices"]!.AsArray().Count);

        await using var replayer = Fake("chat-whole", CassetteRecordMode.None);
        var replayed = await SendJsonAsync(replayer.CreateClient(), Post("/v1/chat/completions", request));
        Assert.True(JsonNode.DeepEquals(recorded, replayed.Body), replayed.Text);

        request["stream"] = true;
        request["stream_options"] = new JsonObject { ["include_usage"] = true };
        await using var converter = Fake("chat-whole", CassetteRecordMode.None);
        var events = await SendStreamAsync(converter.CreateClient(), Post("/v1/chat/completions", request));
        var chunks = events.Where(e => e.Data != "[DONE]").Select(e => JsonNode.Parse(e.Data)!).ToList();
        for (var index = 0; index < 2; index++)
        {
            var choice = recorded["choices"]![index]!;
            var deltas = chunks.SelectMany(c => c["choices"]!.AsArray()).Where(c => (int)c!["index"]! == index).ToList();
            Assert.Equal((string?)choice["message"]!["content"], string.Concat(deltas.Select(d => (string?)d!["delta"]!["content"])));
            var entries = new JsonArray([.. deltas.SelectMany(d => d!["logprobs"]?["content"]?.AsArray() ?? []).Select(e => e!.DeepClone())]);
            Assert.True(JsonNode.DeepEquals(choice["logprobs"]!["content"], entries));
            Assert.Equal((string?)choice["finish_reason"], deltas.Select(d => (string?)d!["finish_reason"]).Single(f => f is not null));
        }

        Assert.True(JsonNode.DeepEquals(recorded["usage"], chunks[^1]["usage"]));
        Assert.Equal((string?)recorded["id"], (string?)chunks[0]["id"]);
    }

    [Fact]
    public async Task A_streamed_anthropic_answer_with_thinking_and_a_schema_replays_unchanged_and_assembles()
    {
        var request = MessagesRequest(stream: true);
        var recorded = await RecordStreamAsync("anthropic-stream", "/v1/messages", request, ("anthropic-version", "2023-06-01"));

        await using var replayer = Fake("anthropic-stream", CassetteRecordMode.None);
        var replayed = await SendStreamAsync(replayer.CreateClient(), Post("/v1/messages", request, ("anthropic-version", "2023-06-01")));
        AssertSameEvents(recorded, replayed);

        request.Remove("stream");
        await using var converter = Fake("anthropic-stream", CassetteRecordMode.None);
        var whole = await SendJsonAsync(converter.CreateClient(), Post("/v1/messages", request, ("anthropic-version", "2023-06-01")));
        var data = recorded.Select(e => JsonNode.Parse(e.Data)!).ToList();
        string Deltas(string field) => string.Concat(data.Where(d => (string?)d["type"] == "content_block_delta").Select(d => (string?)d["delta"]![field]));
        var content = whole.Body!["content"]!.AsArray();
        Assert.Equal(["thinking", "text"], content.Select(b => (string?)b!["type"]));
        Assert.Equal(Deltas("thinking"), (string?)content[0]!["thinking"]);
        Assert.Equal(Deltas("signature"), (string?)content[0]!["signature"]);
        Assert.False(string.IsNullOrEmpty((string?)content[0]!["signature"]));
        Assert.Equal(Deltas("text"), (string?)content[1]!["text"]);
        JsonNode.Parse((string)content[1]!["text"]!);
        var end = data.Single(d => (string?)d["type"] == "message_delta");
        Assert.Equal((int)end["usage"]!["output_tokens"]!, (int)whole.Body["usage"]!["output_tokens"]!);
    }

    [Fact]
    public async Task A_whole_anthropic_answer_with_thinking_replays_unchanged_and_streams_through_the_sdk_shape()
    {
        var request = MessagesRequest(stream: false);
        var recorded = await RecordWholeAsync("anthropic-whole", "/v1/messages", request, ("anthropic-version", "2023-06-01"));

        await using var replayer = Fake("anthropic-whole", CassetteRecordMode.None);
        var replayed = await SendJsonAsync(replayer.CreateClient(), Post("/v1/messages", request, ("anthropic-version", "2023-06-01")));
        Assert.True(JsonNode.DeepEquals(recorded, replayed.Body), replayed.Text);

        request["stream"] = true;
        await using var converter = Fake("anthropic-whole", CassetteRecordMode.None);
        var events = await SendStreamAsync(converter.CreateClient(), Post("/v1/messages", request, ("anthropic-version", "2023-06-01")));
        var data = events.Select(e => JsonNode.Parse(e.Data)!).ToList();
        var start = data.First(d => (string?)d["type"] == "content_block_start")["content_block"]!;
        Assert.Equal("thinking", (string?)start["type"]);
        Assert.Equal("", (string?)start["signature"]);
        string Deltas(string field) => string.Concat(data.Where(d => (string?)d["type"] == "content_block_delta").Select(d => (string?)d["delta"]![field]));
        Assert.Equal((string?)recorded["content"]![0]!["thinking"], Deltas("thinking"));
        Assert.Equal((string?)recorded["content"]![0]!["signature"], Deltas("signature"));
        Assert.Equal((string?)recorded["content"]![1]!["text"], Deltas("text"));
    }

    [Fact]
    public async Task Redacted_thinking_recorded_whole_streams_as_a_whole_block()
    {
        _upstream.Setup().RespondWith(FakeReply.WithText("Done.") with { RedactedThinking = "EmwKAhgBEgy3va3pzix" });
        var request = MessagesRequest(stream: false);
        var recorded = await RecordWholeAsync("anthropic-redacted", "/v1/messages", request, ("anthropic-version", "2023-06-01"));
        Assert.Equal("redacted_thinking", (string?)recorded["content"]![0]!["type"]);

        await using var replayer = Fake("anthropic-redacted", CassetteRecordMode.None);
        request["stream"] = true;
        var events = await SendStreamAsync(replayer.CreateClient(), Post("/v1/messages", request, ("anthropic-version", "2023-06-01")));

        var start = JsonNode.Parse(events.First(e => e.Event == "content_block_start").Data)!["content_block"]!;
        Assert.True(JsonNode.DeepEquals(recorded["content"]![0], start));
    }

    [Fact]
    public async Task A_whole_responses_answer_with_logprobs_and_a_schema_streams_with_its_logprobs()
    {
        var request = new JsonObject
        {
            ["model"] = "gpt-4o",
            ["input"] = "A city as JSON",
            ["top_logprobs"] = 2,
            ["include"] = new JsonArray("message.output_text.logprobs"),
            ["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "json_schema", ["name"] = "city", ["strict"] = true, ["schema"] = JsonNode.Parse(CitySchema) } },
        };
        var recorded = await RecordWholeAsync("responses-whole", "/v1/responses", request);
        var part = recorded["output"]![0]!["content"]![0]!;
        Assert.NotEmpty(part["logprobs"]!.AsArray());

        await using var replayer = Fake("responses-whole", CassetteRecordMode.None);
        request["stream"] = true;
        var events = await SendStreamAsync(replayer.CreateClient(), Post("/v1/responses", request));

        var deltas = events.Where(e => e.Event == "response.output_text.delta").Select(e => JsonNode.Parse(e.Data)!).ToList();
        Assert.Equal((string?)part["text"], string.Concat(deltas.Select(d => (string?)d["delta"])));
        Assert.Equal(part["logprobs"]!.AsArray().Select(l => (string?)l!["token"]), deltas.Select(d => (string?)d["logprobs"]![0]!["token"]));
        var done = JsonNode.Parse(events.Single(e => e.Event == "response.output_text.done").Data)!;
        Assert.True(JsonNode.DeepEquals(part["logprobs"], done["logprobs"]));
        var completed = JsonNode.Parse(events.Single(e => e.Event == "response.completed").Data)!["response"];
        Assert.True(JsonNode.DeepEquals(recorded, completed));
    }

    private static JsonObject ChatRequest(bool stream)
    {
        var request = Chat("A city as JSON", stream, "gpt-4o");
        request["n"] = 2;
        request["logprobs"] = true;
        request["top_logprobs"] = 2;
        request["response_format"] = new JsonObject
        {
            ["type"] = "json_schema",
            ["json_schema"] = new JsonObject { ["name"] = "city", ["strict"] = true, ["schema"] = JsonNode.Parse(CitySchema) },
        };
        return request;
    }

    private static JsonObject MessagesRequest(bool stream)
    {
        var request = Messages("A city as JSON", stream, "claude-opus-4-6");
        request["max_tokens"] = 4096;
        request["thinking"] = new JsonObject { ["type"] = "enabled", ["budget_tokens"] = 1024 };
        request["output_config"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "json_schema", ["schema"] = JsonNode.Parse(CitySchema) } };
        return request;
    }

    private static void AssertSameEvents(List<SseItem> recorded, List<SseItem> replayed)
    {
        Assert.Equal(recorded.Count, replayed.Count);
        for (var i = 0; i < recorded.Count; i++)
        {
            Assert.Equal(recorded[i].Event, replayed[i].Event);
            Assert.True(
                recorded[i].Data == replayed[i].Data || JsonNode.DeepEquals(JsonNode.Parse(recorded[i].Data), JsonNode.Parse(replayed[i].Data)),
                $"event {i} differs:\n{recorded[i].Data}\n{replayed[i].Data}");
        }
    }

    private async Task<List<SseItem>> RecordStreamAsync(string name, string path, JsonObject request, params (string Name, string Value)[] headers)
    {
        await using var recorder = Fake(name, CassetteRecordMode.Once);
        var events = await SendStreamAsync(recorder.CreateClient(), Post(path, request, headers));
        Assert.Equal(1, recorder.Cassette!.RecordedCount);
        return events;
    }

    private async Task<JsonNode> RecordWholeAsync(string name, string path, JsonObject request, params (string Name, string Value)[] headers)
    {
        await using var recorder = Fake(name, CassetteRecordMode.Once);
        var answer = await SendJsonAsync(recorder.CreateClient(), Post(path, request, headers));
        Assert.Equal(200, answer.Status);
        Assert.Equal(1, recorder.Cassette!.RecordedCount);
        return answer.Body!;
    }

    private FakeUpstream Fake(string name, CassetteRecordMode mode)
    {
        var options = _folder.Options(name, mode, new Uri("http://fake-upstream/"));
        options.RecordHandler = _upstream.CreateHandler();
        return new FakeUpstream(new FakeUpstreamOptions { Cassette = options });
    }
}
