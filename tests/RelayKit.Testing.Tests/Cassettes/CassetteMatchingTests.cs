using System.Text.Json.Nodes;
using static RelayKit.Testing.Tests.Cassettes.CassetteHttp;

namespace RelayKit.Testing.Tests.Cassettes;

public sealed class CassetteMatchingTests : IAsyncLifetime
{
    private readonly CassetteFolder _folder = new();
    private readonly FakeUpstream _upstream = new();
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _upstream.Setup().WhenLastUserMessageContains("repeat").Times(1).RespondWithText("first answer");
        _upstream.Setup().WhenLastUserMessageContains("repeat").Times(1).RespondWithText("second answer");
        _address = await _upstream.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task A_miss_answers_an_error_that_shows_the_closest_recorded_request_and_how_it_differs()
    {
        await RecordAsync("diff", Post("/v1/chat/completions", Chat("What is the capital of France?")), Post("/v1/embeddings", new JsonObject { ["model"] = "text-embedding-3-small", ["input"] = "x" }));
        await using var replayer = Replayer("diff");
        var request = Chat("What is the capital of Spain?");
        request["temperature"] = 0.2;
        var miss = await SendJsonAsync(replayer.CreateClient(), Post("/v1/chat/completions", request));

        Assert.Equal(400, miss.Status);
        var message = (string)miss.Body!["error"]!["message"]!;
        Assert.Contains("no recorded answer for POST /v1/chat/completions model=gpt-4o-mini", message, StringComparison.Ordinal);
        Assert.Contains("Closest recorded request: #1 POST /v1/chat/completions model=gpt-4o-mini", message, StringComparison.Ordinal);
        Assert.Contains("body.messages[0].content: recorded \"What is the capital of France?\", received \"What is the capital of Spain?\"", message, StringComparison.Ordinal);
        Assert.Contains("body.temperature: recorded (absent), received 0.2", message, StringComparison.Ordinal);
        var recorded = Assert.Single(replayer.Cassette!.Misses);
        Assert.Equal(2, recorded.Differences.Count);
        Assert.Equal(replayer.Requests[0], Assert.Single(replayer.UnexpectedRequests));
    }

    [Fact]
    public async Task Anthropic_misses_answer_in_anthropic_error_shape()
    {
        await RecordAsync("anthropic-miss", Post("/v1/messages", Messages("Hello"), ("anthropic-version", "2023-06-01")));
        await using var replayer = Replayer("anthropic-miss");
        var miss = await SendJsonAsync(replayer.CreateClient(), Post("/v1/messages", Messages("Hello", model: "claude-haiku-4-5"), ("anthropic-version", "2023-06-01")));

        Assert.Equal(400, miss.Status);
        Assert.Equal("error", (string?)miss.Body!["type"]);
        Assert.Contains("body.model: recorded \"claude-sonnet-4-5\", received \"claude-haiku-4-5\"", (string)miss.Body["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Volatile_fields_and_telemetry_headers_are_ignored_by_default()
    {
        var original = Chat("Hello");
        original["user"] = "alice";
        original["metadata"] = new JsonObject { ["trace"] = "1" };
        await RecordAsync("volatile", Post("/v1/chat/completions", original, ("X-Stainless-Retry-Count", "0"), ("User-Agent", "OpenAI/2.15")));
        await using var replayer = Replayer("volatile");

        // Different user, metadata, stream_options, telemetry headers; the content as a lone text part; the same integer as 1.0.
        var variant = new JsonObject
        {
            ["model"] = "gpt-4o-mini",
            ["messages"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Hello" }),
                ["name"] = null,
            }),
            ["user"] = "bob",
            ["metadata"] = new JsonObject { ["trace"] = "2" },
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        var hit = await SendJsonAsync(replayer.CreateClient(), Post("/v1/chat/completions", variant, ("X-Stainless-Retry-Count", "2"), ("User-Agent", "curl/8")));
        Assert.Equal(200, hit.Status);
        Assert.Equal(1, replayer.Cassette!.ReplayedCount);
    }

    [Fact]
    public async Task Configured_ignore_rules_widen_matching_and_matched_headers_narrow_it()
    {
        var original = Chat("Hello");
        original["temperature"] = 0.1;
        await RecordAsync("rules", Post("/v1/chat/completions", original, ("openai-beta", "assistants=v2")));

        await using (var strict = Replayer("rules"))
        {
            var changed = Chat("Hello");
            changed["temperature"] = 0.9;
            Assert.Equal(400, (await SendJsonAsync(strict.CreateClient(), Post("/v1/chat/completions", changed, ("openai-beta", "assistants=v2")))).Status);
            var header = await SendJsonAsync(strict.CreateClient(), Post("/v1/chat/completions", original, ("openai-beta", "other")));
            Assert.Equal(400, header.Status);
            Assert.Contains("headers.openai-beta: recorded \"assistants=v2\", received \"other\"", (string)header.Body!["error"]!["message"]!, StringComparison.Ordinal);
        }

        var options = _folder.Options("rules", CassetteRecordMode.None);
        options.IgnoreJsonPaths.Add("temperature");
        options.IgnoreHeaders.Add("openai-*");
        await using var loose = new FakeUpstream(new FakeUpstreamOptions { Cassette = options });
        var relaxed = Chat("Hello");
        relaxed["temperature"] = 0.9;
        Assert.Equal(200, (await SendJsonAsync(loose.CreateClient(), Post("/v1/chat/completions", relaxed, ("openai-beta", "other")))).Status);
    }

    [Fact]
    public async Task Identical_requests_replay_in_recorded_order_each_once_unless_repeats_are_allowed()
    {
        await RecordAsync("repeat", Post("/v1/chat/completions", Chat("repeat please")), Post("/v1/chat/completions", Chat("repeat please")));
        Assert.Equal(2, _upstream.Requests.Count);

        await using (var replayer = Replayer("repeat"))
        {
            var client = replayer.CreateClient();
            Assert.Equal("first answer", Content(await SendJsonAsync(client, Post("/v1/chat/completions", Chat("repeat please")))));
            Assert.Equal("second answer", Content(await SendJsonAsync(client, Post("/v1/chat/completions", Chat("repeat please")))));
            var third = await SendJsonAsync(client, Post("/v1/chat/completions", Chat("repeat please")));
            Assert.Equal(400, third.Status);
            Assert.Contains("#1, #2 were already replayed", third.Text, StringComparison.Ordinal);
        }

        var options = _folder.Options("repeat", CassetteRecordMode.None);
        options.AllowPlaybackRepeats = true;
        await using var repeating = new FakeUpstream(new FakeUpstreamOptions { Cassette = options });
        var http = repeating.CreateClient();
        var answers = new List<string?>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add(Content(await SendJsonAsync(http, Post("/v1/chat/completions", Chat("repeat please")))));
        }

        Assert.Equal(["first answer", "second answer", "second answer"], answers);
    }

    private static string? Content((int Status, JsonNode? Body, string Text) response) =>
        (string?)response.Body?["choices"]?[0]?["message"]?["content"];

    private FakeUpstream Replayer(string name) => new(new FakeUpstreamOptions { Cassette = _folder.Options(name, CassetteRecordMode.None) });

    private async Task RecordAsync(string name, params HttpRequestMessage[] requests)
    {
        await using var recorder = new FakeUpstream(new FakeUpstreamOptions { Cassette = _folder.Options(name, CassetteRecordMode.Once, _address) });
        foreach (var request in requests)
        {
            Assert.Equal(200, (await SendJsonAsync(recorder.CreateClient(), request)).Status);
        }
    }
}
