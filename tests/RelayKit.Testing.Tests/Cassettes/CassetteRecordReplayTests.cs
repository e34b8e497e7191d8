using System.Text.Json.Nodes;
using static RelayKit.Testing.Tests.Cassettes.CassetteHttp;

namespace RelayKit.Testing.Tests.Cassettes;

public sealed class CassetteRecordReplayTests
{
    [Fact]
    public async Task Records_over_real_http_then_replays_the_same_answers_with_the_upstream_stopped()
    {
        using var folder = new CassetteFolder();
        var upstream = new FakeUpstream();
        upstream.Setup().ForModel("gpt-*").RespondWithText("Paris is the capital of France.");
        upstream.Setup().ForModel("claude-*").RespondWithToolCall("get_weather", """{"city":"Paris"}""");
        var address = await upstream.StartAsync();

        JsonNode? recordedChat;
        List<SseItem> recordedStream;
        List<SseItem> recordedClaude;
        await using (var recorder = new FakeUpstream(new FakeUpstreamOptions { Cassette = folder.Options("capital", CassetteRecordMode.Once, address) }))
        {
            var http = recorder.CreateClient();
            var chat = await SendJsonAsync(http, Post("/v1/chat/completions", Chat("What is the capital of France?"), ("Authorization", "Bearer sk-test")));
            Assert.Equal(200, chat.Status);
            recordedChat = chat.Body;
            recordedStream = await SendStreamAsync(http, Post("/v1/chat/completions", Chat("And of Italy?", stream: true)));
            recordedClaude = await SendStreamAsync(http, Post("/v1/messages", Messages("Weather in Paris?", stream: true), ("anthropic-version", "2023-06-01")));
            Assert.Equal(3, recorder.Cassette!.RecordedCount);
            Assert.Equal(0, recorder.Cassette.ReplayedCount);
        }

        Assert.Equal(3, upstream.Requests.Count);
        Assert.Equal("Paris is the capital of France.", (string?)recordedChat?["choices"]?[0]?["message"]?["content"]);
        Assert.Equal("[DONE]", recordedStream[^1].Data);
        Assert.Contains(recordedClaude, e => e.Event == "content_block_delta" && e.Data.Contains("input_json_delta", StringComparison.Ordinal));
        await upstream.DisposeAsync();
        using (var probe = new HttpClient())
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => probe.GetAsync(new Uri(address, "v1/models")));
        }

        await using var replayer = new FakeUpstream(new FakeUpstreamOptions { Cassette = folder.Options("capital", CassetteRecordMode.None) });
        var client = replayer.CreateClient();
        var replayedChat = await SendJsonAsync(client, Post("/v1/chat/completions", Chat("What is the capital of France?")));
        var replayedStream = await SendStreamAsync(client, Post("/v1/chat/completions", Chat("And of Italy?", stream: true)));
        var replayedClaude = await SendStreamAsync(client, Post("/v1/messages", Messages("Weather in Paris?", stream: true), ("anthropic-version", "2023-06-01")));

        Assert.Equal(200, replayedChat.Status);
        Assert.True(JsonNode.DeepEquals(recordedChat, replayedChat.Body), replayedChat.Text);
        AssertSameEvents(recordedStream, replayedStream);
        AssertSameEvents(recordedClaude, replayedClaude);
        Assert.Equal(3, replayer.Cassette!.ReplayedCount);
        Assert.True(replayer.Cassette.AllPlayed);
        Assert.Empty(replayer.Cassette.Misses);
        Assert.All(replayer.Requests, r => Assert.StartsWith("cassette capital: replayed", r.AnsweredBy, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cassette_file_stores_streams_event_by_event_with_offsets_in_a_stable_readable_form()
    {
        using var folder = new CassetteFolder();
        await using var upstream = new FakeUpstream();
        upstream.Setup().RespondWithText("Hello there.");
        var address = await upstream.StartAsync();
        await using (var recorder = new FakeUpstream(new FakeUpstreamOptions { Cassette = folder.Options("format", CassetteRecordMode.Once, address) }))
        {
            await SendStreamAsync(recorder.CreateClient(), Post("/v1/chat/completions", Chat("Hi", stream: true)));
        }

        var text = await File.ReadAllTextAsync(folder.FileOf("format"));
        Assert.Contains("\n  \"interactions\": [\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var document = JsonNode.Parse(text)!;
        Assert.Equal(1, (int)document["version"]!);
        var interaction = document["interactions"]![0]!;
        Assert.Equal(["recordedAt", "request", "response"], ((JsonObject)interaction).Select(p => p.Key));
        Assert.Equal(["body", "headers", "method", "path"], ((JsonObject)interaction["request"]!).Select(p => p.Key));
        var body = (JsonObject)interaction["request"]!["body"]!;
        Assert.Equal(body.Select(p => p.Key).Order(StringComparer.Ordinal), body.Select(p => p.Key));
        var response = interaction["response"]!;
        Assert.Null(response["body"]);
        var events = response["events"]!.AsArray();
        Assert.True(events.Count > 3);
        Assert.All(events.Take(events.Count - 1), e => Assert.Equal("chat.completion.chunk", (string?)e!["data"]!["object"]));
        Assert.Equal("[DONE]", (string?)events[^1]!["dataText"]);
        var offsets = events.Select(e => (double)e!["offsetMs"]!).ToList();
        Assert.Equal(offsets.Order(), offsets);

        // Rewriting the same interactions gives the same bytes: a re-record only diffs where the answer changed.
        await using (var again = new FakeUpstream(new FakeUpstreamOptions { Cassette = folder.Options("format", CassetteRecordMode.None) }))
        {
            Assert.Equal(1, again.Cassette!.InteractionCount);
        }

        Assert.Equal(text, RelayKit.Testing.Cassettes.CassetteFile.Serialize(RelayKit.Testing.Cassettes.CassetteFile.Load(folder.FileOf("format"))!));
    }

    private static void AssertSameEvents(List<SseItem> expected, List<SseItem> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Event, actual[i].Event);
            if (expected[i].Data.StartsWith('{'))
            {
                Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected[i].Data), JsonNode.Parse(actual[i].Data)), $"event {i}: {actual[i].Data}");
            }
            else
            {
                Assert.Equal(expected[i].Data, actual[i].Data);
            }
        }
    }
}
