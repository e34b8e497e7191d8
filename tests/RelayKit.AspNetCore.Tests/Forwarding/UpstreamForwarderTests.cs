using System.ClientModel;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Forwarding;

public sealed class UpstreamForwarderTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task The_callers_key_never_goes_upstream_and_the_provider_key_never_comes_back()
    {
        await using var relay = FakeRelay.Create();
        var openAi = await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        using var http = relay.App.CreateClient();
        using var anthropic = await PostAsync(http, "v1/messages", """{"model":"claude-code-opus-4.8","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", apiKey: RelaySettings.AliceKey);

        var toOpenAi = relay.Recorder.Exchanges.Single(e => e.Provider == "openai");
        var toAnthropic = relay.Recorder.Exchanges.Single(e => e.Provider == "anthropic");
        Assert.Equal($"Bearer {RelaySettings.OpenAiProviderKey}", toOpenAi.Headers["Authorization"]);
        Assert.False(toOpenAi.Headers.ContainsKey("x-api-key"));
        Assert.Equal(RelaySettings.AnthropicProviderKey, toAnthropic.Headers["x-api-key"]);
        Assert.False(toAnthropic.Headers.ContainsKey("Authorization"));
        Assert.Equal("2023-06-01", toAnthropic.Headers["anthropic-version"]);
        foreach (var exchange in relay.Recorder.Exchanges)
        {
            Assert.DoesNotContain(exchange.Headers, h => h.Value.Contains(RelaySettings.AliceKey, StringComparison.Ordinal));
            Assert.DoesNotContain(RelaySettings.AliceKey, exchange.Body, StringComparison.Ordinal);
        }

        var returned = string.Join("\n", openAi.GetRawResponse().Headers.Select(h => $"{h.Key}: {h.Value}"))
            + openAi.GetRawResponse().Content
            + string.Join("\n", anthropic.Headers.Concat(anthropic.Content.Headers).Select(h => $"{h.Key}: {string.Join(",", h.Value)}"))
            + await anthropic.Content.ReadAsStringAsync();
        Assert.DoesNotContain(RelaySettings.OpenAiProviderKey, returned, StringComparison.Ordinal);
        Assert.DoesNotContain(RelaySettings.AnthropicProviderKey, returned, StringComparison.Ordinal);
        Assert.Contains("x-request-id", returned, StringComparison.OrdinalIgnoreCase);

        var logged = string.Join("\n", relay.App.Logs.GetSnapshot().Select(r => r.Message + " " + r.Exception));
        Assert.Contains("Relayed chat.completions gpt-5.5 for key alice to openai", logged, StringComparison.Ordinal);
        foreach (var secret in new[] { RelaySettings.AliceKey, RelaySettings.OpenAiProviderKey, RelaySettings.AnthropicProviderKey })
        {
            Assert.DoesNotContain(secret, logged, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_upstream_error_passes_through_unchanged()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.RateLimited(TimeSpan.FromSeconds(7))).Times(1);
        relay.Fake.Setup().ForModel("claude-opus-4-8").WithFault(FakeFault.Overloaded()).Times(1);
        using var http = relay.App.CreateClient();

        using var openAi = await PostAsync(http, "v1/chat/completions", """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);
        using var anthropic = await PostAsync(http, "v1/messages", """{"model":"claude-code-opus-4.8","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", apiKey: RelaySettings.AliceKey);

        Assert.Equal(429, (int)openAi.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), openAi.Headers.RetryAfter?.Delta);
        Assert.Equal(relay.Recorder.Exchanges[0].ErrorBody, await openAi.Content.ReadAsByteArrayAsync());
        Assert.Equal(529, (int)anthropic.StatusCode);
        Assert.Equal(relay.Recorder.Exchanges[1].ErrorBody, await anthropic.Content.ReadAsByteArrayAsync());
        Assert.StartsWith("req_", openAi.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sdk_sees_an_upstream_rate_limit_as_its_own_429()
    {
        await using var relay = FakeRelay.Create();
        relay.Fake.Setup().ForModel("claude-opus-4-8").WithFault(FakeFault.RateLimited(TimeSpan.FromSeconds(1))).Times(1);

        var error = await Assert.ThrowsAsync<AnthropicRateLimitException>(() => relay.App.CreateAnthropicClient(RelaySettings.AliceKey).Messages.Create(new MessageCreateParams
        {
            Model = "claude-code-opus-4.8",
            MaxTokens = 16,
            Messages = [new UserMessageParam("hi")],
        }));

        Assert.Equal(429, (int)error.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_abort_cancels_the_upstream_request(bool overSockets)
    {
        await using var relay = overSockets ? await FakeRelay.CreateOverSocketsAsync() : FakeRelay.Create();
        var gate = new FakeStreamGate();
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText("this answer is never finished").HoldAfterEvents(1, gate);
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        using var abort = new CancellationTokenSource();

        var updates = chat.CompleteChatStreamingAsync([new UserChatMessage("go")], cancellationToken: abort.Token).GetAsyncEnumerator(abort.Token);
        Assert.True(await updates.MoveNextAsync().AsTask().WaitAsync(Guard));
        await gate.Reached.WaitAsync(Guard);
        abort.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await updates.MoveNextAsync());
        await updates.DisposeAsync();

        // The gate is never released: only the relay passing on the abort lets the upstream request end.
        var upstream = Assert.Single(relay.Fake.Requests);
        await upstream.Completion.WaitAsync(Guard);
        Assert.True(upstream.WasAborted);
    }

    [Fact]
    public async Task An_unreachable_upstream_is_502()
    {
        var closedPort = ClosedLoopbackPort();
        await using var app = new RelayApp(RelaySettings.Create(new Uri($"http://127.0.0.1:{closedPort}/v1"), new Uri($"http://127.0.0.1:{closedPort}/")));

        var openAi = await Assert.ThrowsAsync<ClientResultException>(() =>
            app.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));
        using var http = app.CreateClient();
        var anthropic = await RawRelayCall.PostAsync(http, "v1/messages", """{"model":"claude-code-opus-4.8","max_tokens":5,"messages":[]}""", apiKey: RelaySettings.AliceKey);

        Assert.Equal(502, openAi.Status);
        Assert.Contains("The relay could not reach provider 'openai'.", openAi.Message, StringComparison.Ordinal);
        Assert.Equal(502, anthropic.Status);
        Assert.Equal("api_error", anthropic.Body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("true", anthropic.Headers.GetValues("x-should-retry").Single());
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Message.StartsWith("Provider anthropic is unreachable", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upstream_that_does_not_answer_in_time_is_504(bool overSockets)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
        void Settings(Dictionary<string, string?> s) => s.With("ModelRelay:UpstreamTimeout", "00:02:00");
        void Services(IServiceCollection services) => services.AddSingleton<TimeProvider>(time);
        await using var relay = overSockets ? await FakeRelay.CreateOverSocketsAsync(Settings, Services) : FakeRelay.Create(Settings, Services);
        var upstreamWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        relay.Fake.Setup().ForModel("claude-opus-4-8").When(_ => upstreamWaiting.TrySetResult() || true).WithFault(FakeFault.Latency(TimeSpan.FromHours(1)));
        using var http = relay.App.CreateClient();

        var call = RawRelayCall.PostAsync(http, "v1/messages", """{"model":"claude-code-opus-4.8","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", apiKey: RelaySettings.AliceKey);
        await upstreamWaiting.Task.WaitAsync(Guard);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(1));
        var answer = await call.WaitAsync(Guard);

        Assert.Equal(504, answer.Status);
        Assert.Equal("timeout_error", answer.Body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("Provider 'anthropic' did not answer in time.", answer.Body.GetProperty("error").GetProperty("message").GetString());
        await relay.Fake.Requests[0].Completion.WaitAsync(Guard);
        Assert.True(relay.Fake.Requests[0].WasAborted);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string body, string? bearer = null, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (bearer is not null)
        {
            request.Headers.Authorization = new("Bearer", bearer);
        }

        if (apiKey is not null)
        {
            request.Headers.Add("x-api-key", apiKey);
        }

        return await http.SendAsync(request);
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
