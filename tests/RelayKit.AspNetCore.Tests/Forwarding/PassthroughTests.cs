using System.Net.Http.Headers;
using System.Text;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Forwarding;

/// <summary>What crosses the relay: an allowlist of headers each way, never the caller's query string, never the provider key.</summary>
public sealed class PassthroughTests
{
    private const string ChatBody = """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task Only_allowlisted_request_headers_and_no_query_string_reach_the_provider()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions?key=caller-google-key&api-version=2024-10-21")
        {
            Content = new StringContent(ChatBody, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RelaySettings.AliceKey);
        request.Headers.TryAddWithoutValidation("x-goog-api-key", "AIza-caller-google-key");
        request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", "caller-aws-session-token");
        request.Headers.TryAddWithoutValidation("Connection", "x-stainless-hop");
        request.Headers.TryAddWithoutValidation("x-stainless-hop", "named-in-connection");
        request.Headers.TryAddWithoutValidation("x-stainless-lang", "dotnet");
        request.Headers.TryAddWithoutValidation("Idempotency-Key", "idem-1");
        request.Headers.TryAddWithoutValidation("x-custom-tracking", "internal");

        using var response = await http.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        var exchange = Assert.Single(relay.Recorder.Exchanges);
        Assert.Equal("", exchange.Uri.Query);
        Assert.Equal("/v1/chat/completions", exchange.Uri.AbsolutePath);
        var sent = exchange.Headers.Keys.Select(k => k.ToLowerInvariant()).ToHashSet();
        Assert.DoesNotContain("x-goog-api-key", sent);
        Assert.DoesNotContain("x-amz-security-token", sent);
        Assert.DoesNotContain("x-stainless-hop", sent);
        Assert.DoesNotContain("x-custom-tracking", sent);
        Assert.Contains("x-stainless-lang", sent);
        Assert.Contains("idempotency-key", sent);
        Assert.Equal($"Bearer {RelaySettings.OpenAiProviderKey}", exchange.Headers["Authorization"]);
        Assert.False(Assert.Single(relay.Fake.Requests).Headers.ContainsKey("x-goog-api-key"));
    }

    [Fact]
    public async Task Anthropic_headers_reach_an_Anthropic_provider_only()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        await RawRelayCall.PostAsync(http, "v1/messages",
            """{"model":"claude-code-opus-4.8","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", apiKey: RelaySettings.AliceKey, anthropicVersion: "2023-06-01");
        await RawRelayCall.PostAsync(http, "v1/messages",
            """{"model":"gpt-5.5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", apiKey: RelaySettings.AliceKey, anthropicVersion: "2023-06-01");

        Assert.Equal(2, relay.Recorder.Exchanges.Count);
        Assert.Equal("2023-06-01", relay.Recorder.Exchanges[0].Headers["anthropic-version"]);
        Assert.False(relay.Recorder.Exchanges[1].Headers.ContainsKey("anthropic-version"));
    }

    [Fact]
    public async Task Only_allowlisted_response_headers_come_back_and_never_one_holding_the_provider_key()
    {
        var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        await using var disposeFake = fake;
        await using var app = new RelayApp(
            RelaySettings.Create(new Uri("http://fake-upstream/v1"), new Uri("http://fake-upstream/")),
            relay => relay.ConfigureUpstreamHandler((_, _) => new HeaderAddingHandler { InnerHandler = fake.CreateHandler() }));
        var chat = app.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        var result = await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        var headers = result.GetRawResponse().Headers;
        Assert.False(headers.TryGetValue("x-debug-auth", out _));
        Assert.False(headers.TryGetValue("x-ratelimit-key-echo", out _));
        Assert.False(headers.TryGetValue("x-internal-trace", out _));
        Assert.True(headers.TryGetValue("x-ratelimit-remaining-requests", out var remaining));
        Assert.Equal("41", remaining);
        Assert.True(headers.TryGetValue("openai-processing-ms", out var ms));
        Assert.Equal("12", ms);
        foreach (var (_, value) in headers)
        {
            Assert.DoesNotContain(RelaySettings.OpenAiProviderKey, value, StringComparison.Ordinal);
        }
    }

    private sealed class HeaderAddingHandler : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            response.Headers.TryAddWithoutValidation("x-debug-auth", request.Headers.Authorization!.ToString());
            response.Headers.TryAddWithoutValidation("x-ratelimit-key-echo", request.Headers.Authorization!.Parameter);
            response.Headers.TryAddWithoutValidation("x-internal-trace", "node-7");
            response.Headers.Remove("x-ratelimit-remaining-requests");
            response.Headers.TryAddWithoutValidation("x-ratelimit-remaining-requests", "41");
            response.Headers.TryAddWithoutValidation("openai-processing-ms", "12");
            return response;
        }
    }
}
