using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>One usage record per relayed request, with the tokens exactly as the fake upstream reported them.</summary>
public sealed class UsageRecordsThroughRelayTests
{
    [Fact]
    public async Task An_OpenAI_completion_is_recorded_with_the_usage_the_client_received()
    {
        await using var relay = UsageRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWith(FakeReply.WithText("hello from the fake, with some words") with { CachedInputTokens = 2 });
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        var result = await chat.CompleteChatAsync([new UserChatMessage("hi there, how are you today?")]);

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        var usage = result.Value.Usage;
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-request-id", out var requestId));
        Assert.Equal(requestId, record.RequestId);
        Assert.Equal("alice", record.KeyName);
        Assert.Equal("gpt-5.5", record.RequestedModel);
        Assert.Equal("openai", record.Provider);
        Assert.Equal("gpt-5.5", record.UpstreamModel);
        Assert.Equal("chat", record.Operation);
        Assert.False(record.Streamed);
        Assert.Equal(2, usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(usage.InputTokenCount - 2, record.InputTokens);
        Assert.Equal(2, record.CachedInputTokens);
        Assert.Equal(usage.OutputTokenCount, record.OutputTokens);
        Assert.Equal(200, record.StatusCode);
        Assert.Null(record.ErrorType);
        Assert.NotNull(record.TimeToFirstByte);
        Assert.InRange(record.TimeToFirstByte!.Value, TimeSpan.Zero, record.Duration);
    }

    [Fact]
    public async Task A_key_without_a_budget_is_recorded_at_the_configured_price_of_the_name_it_asked_for()
    {
        await using var relay = UsageRelay.Create(s => s
            .With("ModelRelay:Models:gpt-5.5:Price:Input", "2")
            .With("ModelRelay:Models:gpt-5.5:Price:Output", "20")
            .With("ModelRelay:Models:gpt-5.5:Price:CachedInput", "1"));
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWith(FakeReply.WithText("priced words") with { CachedInputTokens = 2 });

        var result = await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("default").CompleteChatAsync([new UserChatMessage("hi there")]);

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        var usage = result.Value.Usage;
        Assert.Equal(((usage.InputTokenCount - 2) * 2m + (2 * 1m) + (usage.OutputTokenCount * 20m)) / 1_000_000m, record.Cost);
    }

    [Fact]
    public async Task A_caller_gone_before_any_answer_is_recorded_as_499_client_aborted_not_200()
    {
        await using var relay = UsageRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText("too late").WithFault(FakeFault.Latency(TimeSpan.FromSeconds(30), TimeSpan.Zero));
        using var http = relay.App.CreateClient();
        using var gone = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RelaySettings.AliceKey);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => http.SendAsync(request, gone.Token));

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal((499, "client_aborted"), (record.StatusCode, record.ErrorType));
        Assert.True(record.IsError);
        var attempt = Assert.Single(record.Attempts);
        Assert.Equal(("openai", (int?)null, "client_aborted"), (attempt.Provider, attempt.StatusCode, attempt.ErrorType));
    }

    [Fact]
    public async Task An_OpenAI_stream_is_recorded_with_its_final_usage_chunk()
    {
        await using var relay = UsageRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText("one two three four five six");
        using var http = relay.App.CreateClient();

        var events = await PostSseAsync(http, "v1/chat/completions", RelaySettings.AliceKey, null,
            """{"model":"gpt-5.5","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"count to six"}]}""");

        var usage = events.Last(e => e.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object).GetProperty("usage");
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.True(record.Streamed);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64() - usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt64(), record.InputTokens);
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt64(), record.OutputTokens);
        Assert.True(record.OutputTokens > 0);
        Assert.Equal(200, record.StatusCode);
    }

    [Fact]
    public async Task An_Anthropic_message_is_recorded_under_the_alias_and_the_upstream_model()
    {
        await using var relay = UsageRelay.Create();
        using var http = relay.App.CreateClient();

        var (status, body, _) = await RawRelayCall.PostAsync(http, "v1/messages",
            """{"model":"claude-code-opus-4.8","max_tokens":200,"messages":[{"role":"user","content":"say something"}]}""",
            apiKey: RelaySettings.AliceKey, anthropicVersion: "2023-06-01");

        Assert.Equal(200, status);
        var usage = body.GetProperty("usage");
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("claude-code-opus-4.8", record.RequestedModel);
        Assert.Equal("anthropic", record.Provider);
        Assert.Equal("claude-opus-4-8", record.UpstreamModel);
        Assert.False(record.Streamed);
        Assert.Equal(usage.GetProperty("input_tokens").GetInt64(), record.InputTokens);
        Assert.Equal(usage.GetProperty("output_tokens").GetInt64(), record.OutputTokens);
        Assert.Equal(usage.GetProperty("cache_read_input_tokens").GetInt64(), record.CachedInputTokens);
        Assert.Equal(usage.GetProperty("cache_creation_input_tokens").GetInt64(), record.CacheWriteTokens);
    }

    [Fact]
    public async Task An_Anthropic_stream_is_recorded_with_the_usage_of_its_start_and_delta_events()
    {
        await using var relay = UsageRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("a streamed answer of several words");
        using var http = relay.App.CreateClient();

        var events = await PostSseAsync(http, "v1/messages", null, RelaySettings.AliceKey,
            """{"model":"claude-code-opus-4.8","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"stream it"}]}""");

        var start = events.Single(e => e.GetProperty("type").GetString() == "message_start").GetProperty("message").GetProperty("usage");
        var delta = events.Last(e => e.GetProperty("type").GetString() == "message_delta").GetProperty("usage");
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.True(record.Streamed);
        Assert.Equal(start.GetProperty("input_tokens").GetInt64(), record.InputTokens);
        Assert.Equal(delta.GetProperty("output_tokens").GetInt64(), record.OutputTokens);
        Assert.True(record.OutputTokens > 1);
    }

    [Fact]
    public async Task An_upstream_error_is_recorded_with_its_status_and_counts_against_the_upstream()
    {
        await using var relay = UsageRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        using var http = relay.App.CreateClient();

        var (status, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"fail"}]}""", bearer: RelaySettings.AliceKey);

        Assert.Equal(503, status);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(503, record.StatusCode);
        Assert.True(record.IsError);
        Assert.Null(record.InputTokens);
        var report = relay.App.Services.GetRequiredService<UpstreamHealthTracker>().GetReport("openai");
        Assert.Equal(1, report.LastHour.Attempts);
        Assert.Equal(1, report.LastHour.Failures);
    }

    [Fact]
    public async Task Usage_nobody_reported_stays_missing_in_the_record_never_zero()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().WithFault(FakeFault.StreamWithoutUsage()); // the stream ends properly, but reports no usage
        using var http = relay.App.CreateClient();

        var events = await PostSseAsync(http, "v1/chat/completions", RelaySettings.AliceKey, null,
            """{"model":"gpt-5.5","stream":true,"messages":[{"role":"user","content":"x"}]}""");

        Assert.NotEmpty(events);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("alice", record.KeyName);
        Assert.Null(record.InputTokens);
        Assert.Null(record.OutputTokens);
        Assert.Equal(0m, record.Cost);
    }

    internal static async Task<List<JsonElement>> PostSseAsync(HttpClient http, string path, string? bearer, string? apiKey, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (apiKey is not null)
        {
            request.Headers.Add("x-api-key", apiKey);
            request.Headers.Add("anthropic-version", "2023-06-01");
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        return [.. text.Split('\n')
            .Where(l => l.StartsWith("data:", StringComparison.Ordinal))
            .Select(l => l[5..].Trim())
            .Where(l => l.StartsWith('{'))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }
}
