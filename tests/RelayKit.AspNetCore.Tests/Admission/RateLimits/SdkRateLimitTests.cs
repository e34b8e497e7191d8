using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>The official SDKs against a rate-limited relay: they raise their rate-limit errors and wait as told.</summary>
public sealed class SdkRateLimitTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    // Longer than both SDKs' first back-off (0.5 s to 1 s), so a retry that came this late obeyed the relay.
    private static readonly TimeSpan RetryAfter = TimeSpan.FromMilliseconds(1500);

    [Fact]
    public async Task The_openai_sdk_raises_a_429_client_result()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:RequestsPerMinute", "1"));
        var chat = relay.Relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(429, error.Status);
        Assert.Contains("Rate limit reached for requests per minute of this key", error.Message, StringComparison.Ordinal);
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("retry-after", out var retryAfter));
        Assert.Equal("60", retryAfter);
    }

    [Fact]
    public async Task The_anthropic_sdk_raises_its_rate_limit_exception()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:RequestsPerMinute", "1"));
        var client = relay.Relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        await client.Messages.Create(Params());

        var error = await Assert.ThrowsAsync<AnthropicRateLimitException>(() => client.Messages.Create(Params()));

        Assert.Contains("Rate limit reached", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_openai_sdk_waits_the_retry_after_and_then_gets_through()
    {
        await using var relay = RateLimitedRelay.Create(Settings, realTime: true);
        await using var held = await HoldOneSlotAsync(relay);
        var spy = new RetrySpy(relay.Relay.App.Server.CreateHandler(), held);
        var client = new OpenAIClient(new ApiKeyCredential(RelaySettings.AliceKey), new OpenAIClientOptions
        {
            Endpoint = relay.Relay.App.OpenAiEndpoint,
            Transport = new HttpClientPipelineTransport(new HttpClient(spy)),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 2),
        });

        var result = await client.GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]).WaitAsync(Guard);

        Assert.Equal(200, result.GetRawResponse().Status);
        spy.AssertRetriedAfterWaiting(RetryAfter);
    }

    [Fact]
    public async Task The_anthropic_sdk_waits_the_retry_after_and_then_gets_through()
    {
        await using var relay = RateLimitedRelay.Create(Settings, realTime: true);
        await using var held = await HoldOneSlotAsync(relay);
        var spy = new RetrySpy(relay.Relay.App.Server.CreateHandler(), held);
        var client = new AnthropicClient
        {
            ApiKey = RelaySettings.AliceKey,
            BaseUrl = relay.Relay.App.AnthropicEndpoint.AbsoluteUri.TrimEnd('/'),
            HttpClient = new HttpClient(spy),
            MaxRetries = 2,
        };

        var message = await client.Messages.Create(Params()).WaitAsync(Guard);

        Assert.NotEmpty(message.Content);
        spy.AssertRetriedAfterWaiting(RetryAfter);
    }

    private static void Settings(Dictionary<string, string?> settings) => settings
        .With("ModelRelay:Keys:0:MaxConcurrentRequests", "1")
        .With("ModelRelay:RateLimits:ConcurrencyRetryAfter", RetryAfter.ToString("c", System.Globalization.CultureInfo.InvariantCulture));

    private static MessageCreateParams Params() => new()
    {
        Model = "claude-code-opus-4.8",
        MaxTokens = 16,
        Messages = [new UserMessageParam("hi")],
    };

    /// <summary>Starts a stream of alice's that the fake holds open, so her one concurrency slot is taken.</summary>
    private static async Task<HeldStream> HoldOneSlotAsync(RateLimitedRelay relay)
    {
        var gate = new FakeStreamGate();
        relay.Relay.Fake.Setup().ForModel("gpt-5.5").WhenLastUserMessageContains("hold").RespondWithText("one two three").HoldAfterEvents(1, gate);
        var call = ReadStreamAsync(relay.Http);
        await gate.Reached.WaitAsync(Guard);
        return new HeldStream(gate, call);
    }

    private static async Task ReadStreamAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-5.5","stream":true,"messages":[{"role":"user","content":"hold"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", RelaySettings.AliceKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("[DONE]", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private sealed class HeldStream(FakeStreamGate gate, Task call) : IAsyncDisposable
    {
        /// <summary>Lets the held stream finish and waits until the relay has answered it in full (its slot is free).</summary>
        public async Task ReleaseAsync()
        {
            gate.Release();
            await call.WaitAsync(Guard);
        }

        public async ValueTask DisposeAsync() => await ReleaseAsync();
    }

    /// <summary>
    /// Sits between the SDK and the relay: on the first 429 it frees the held slot (so a retry can pass)
    /// and notes when the 429 went back; it notes when the retry came.
    /// </summary>
    private sealed class RetrySpy(HttpMessageHandler inner, HeldStream held) : DelegatingHandler(inner)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<(int Status, TimeSpan SentAt, string? RetryAfterMs)> _calls = [];
        private TimeSpan _rejectionReturnedAt;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var sentAt = _clock.Elapsed;
            var response = await base.SendAsync(request, cancellationToken);
            var retryAfterMs = response.Headers.TryGetValues("retry-after-ms", out var values) ? values.Single() : null;
            lock (_calls)
            {
                _calls.Add(((int)response.StatusCode, sentAt, retryAfterMs));
            }

            if ((int)response.StatusCode == 429)
            {
                await held.ReleaseAsync();
                _rejectionReturnedAt = _clock.Elapsed;
            }

            return response;
        }

        public void AssertRetriedAfterWaiting(TimeSpan wait)
        {
            Assert.Equal([429, 200], _calls.Select(c => c.Status));
            Assert.Equal(((long)wait.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), _calls[0].RetryAfterMs);
            var waited = _calls[1].SentAt - _rejectionReturnedAt;
            // The SDK's own timer may fire a few milliseconds early (timer resolution), which is still honouring the wait;
            // a retry that ignored retry-after would come at once or after its own much shorter backoff.
            Assert.True(waited >= wait - TimeSpan.FromMilliseconds(20), $"The SDK retried after {waited.TotalMilliseconds} ms, before the {wait.TotalMilliseconds} ms it was told.");
        }
    }
}
