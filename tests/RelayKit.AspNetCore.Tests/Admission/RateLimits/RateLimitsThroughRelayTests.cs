using System.Globalization;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>Rate limits as callers see them: through the relay, with the fake upstream behind it.</summary>
public sealed class RateLimitsThroughRelayTests
{
    [Fact]
    public async Task A_requests_per_minute_limit_holds_under_concurrent_load()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:RequestsPerMinute", "5"));

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => relay.ChatAsync()));

        Assert.Equal(5, results.Count(r => r.Status == 200));
        Assert.Equal(5, relay.Relay.Fake.Requests.Count);
        var refused = results.Where(r => r.Status != 200).ToList();
        Assert.Equal(15, refused.Count);
        Assert.All(refused, r =>
        {
            Assert.Equal(429, r.Status);
            var error = r.Body.GetProperty("error");
            Assert.Equal("requests", error.GetProperty("type").GetString());
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());

            // A 5-per-minute bucket refills one request every 12 seconds.
            Assert.Equal("12", RateLimitedRelay.Header(r.Headers, "retry-after"));
            Assert.Equal("12000", RateLimitedRelay.Header(r.Headers, "retry-after-ms"));
            Assert.Equal("true", RateLimitedRelay.Header(r.Headers, "x-should-retry"));
        });
    }

    [Fact]
    public async Task Time_refills_the_limit()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:RequestsPerMinute", "2"));
        Assert.Equal(200, (await relay.ChatAsync()).Status);
        Assert.Equal(200, (await relay.ChatAsync()).Status);
        Assert.Equal(429, (await relay.ChatAsync()).Status);

        relay.Time!.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(200, (await relay.ChatAsync()).Status);
        Assert.Equal(429, (await relay.ChatAsync()).Status);
    }

    [Fact]
    public async Task Every_openai_response_carries_the_relays_own_limits_counting_down()
    {
        await using var relay = RateLimitedRelay.Create(s => s
            .With("ModelRelay:Keys:0:RequestsPerMinute", "5")
            .With("ModelRelay:Keys:0:TokensPerMinute", "100000"));

        var remainingRequests = new List<int>();
        var remainingTokens = new List<long>();
        var resets = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (status, _, headers) = await relay.ChatAsync();
            Assert.Equal(200, status);

            // The fake upstream sends its own (much larger) x-ratelimit-* values; the relay's replace them.
            Assert.Equal("5", RateLimitedRelay.Header(headers, "x-ratelimit-limit-requests"));
            Assert.Equal("100000", RateLimitedRelay.Header(headers, "x-ratelimit-limit-tokens"));
            resets.Add(RateLimitedRelay.Header(headers, "x-ratelimit-reset-requests"));
            remainingRequests.Add(int.Parse(RateLimitedRelay.Header(headers, "x-ratelimit-remaining-requests"), CultureInfo.InvariantCulture));
            remainingTokens.Add(long.Parse(RateLimitedRelay.Header(headers, "x-ratelimit-remaining-tokens"), CultureInfo.InvariantCulture));
        }

        Assert.Equal([4, 3, 2], remainingRequests);

        // Time until the bucket is full again: 12 s per request used, as OpenAI writes durations.
        Assert.Equal(["12s", "24s", "36s"], resets);

        // Each request is charged at least its 100-token output cap.
        Assert.True(remainingTokens[0] <= 100000 - 100, $"remaining {remainingTokens[0]}");
        Assert.True(remainingTokens[1] < remainingTokens[0] && remainingTokens[2] < remainingTokens[1]);
        Assert.Equal(remainingTokens[0] - remainingTokens[1], remainingTokens[1] - remainingTokens[2]);
    }

    [Fact]
    public async Task Every_anthropic_response_carries_anthropic_headers_and_a_refusal_is_a_rate_limit_error()
    {
        await using var relay = RateLimitedRelay.Create(s => s
            .With("ModelRelay:Keys:0:RequestsPerMinute", "2")
            .With("ModelRelay:Keys:0:TokensPerMinute", "50000"));

        var first = await relay.MessagesAsync();
        var second = await relay.MessagesAsync();
        var third = await relay.MessagesAsync();

        Assert.Equal(200, first.Status);
        Assert.Equal("2", RateLimitedRelay.Header(first.Headers, "anthropic-ratelimit-requests-limit"));
        Assert.Equal("1", RateLimitedRelay.Header(first.Headers, "anthropic-ratelimit-requests-remaining"));
        Assert.Equal("0", RateLimitedRelay.Header(second.Headers, "anthropic-ratelimit-requests-remaining"));
        Assert.Equal("50000", RateLimitedRelay.Header(first.Headers, "anthropic-ratelimit-tokens-limit"));
        Assert.True(DateTimeOffset.TryParse(RateLimitedRelay.Header(first.Headers, "anthropic-ratelimit-requests-reset"), CultureInfo.InvariantCulture, out _));
        Assert.False(first.Headers.Contains("x-ratelimit-limit-requests"));

        Assert.Equal(429, third.Status);
        Assert.Equal("error", third.Body.GetProperty("type").GetString());
        Assert.Equal("rate_limit_error", third.Body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("30", RateLimitedRelay.Header(third.Headers, "retry-after"));
        Assert.Equal("0", RateLimitedRelay.Header(third.Headers, "anthropic-ratelimit-requests-remaining"));
        Assert.Equal(2, relay.Relay.Fake.Requests.Count);
    }

    [Fact]
    public async Task A_key_without_limits_gets_the_upstreams_own_headers()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:RequestsPerMinute", "5"));

        var (status, _, headers) = await relay.ChatAsync(RelaySettings.BobKey);

        Assert.Equal(200, status);

        // The fake upstream's default limit is 10,000 requests per minute.
        Assert.Equal("10000", RateLimitedRelay.Header(headers, "x-ratelimit-limit-requests"));
    }

    [Fact]
    public async Task One_limit_counts_requests_of_both_wire_formats()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:RequestsPerMinute", "3"));

        Assert.Equal(200, (await relay.ChatAsync()).Status);
        Assert.Equal(200, (await relay.MessagesAsync()).Status);
        Assert.Equal(200, (await relay.ChatAsync()).Status);
        var openAi = await relay.ChatAsync();
        var anthropic = await relay.MessagesAsync();

        Assert.Equal(429, openAi.Status);
        Assert.Equal(429, anthropic.Status);
        Assert.Equal("rate_limit_error", anthropic.Body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(3, relay.Relay.Fake.Requests.Count);
    }

    [Fact]
    public async Task A_model_limit_applies_to_every_key_and_to_its_aliases()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Models:gpt-5.5:RequestsPerMinute", "2"));

        Assert.Equal(200, (await relay.ChatAsync(RelaySettings.BobKey)).Status);
        Assert.Equal(200, (await relay.ChatAsync(RelaySettings.AliceKey, RateLimitedRelay.ChatBody.Replace("gpt-5.5", "default", StringComparison.Ordinal))).Status);
        var third = await relay.ChatAsync(RelaySettings.BobKey);

        Assert.Equal(429, third.Status);
        Assert.Contains("this model", third.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_limit_changed_at_runtime_applies_to_the_next_request()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:RequestsPerMinute", "1"));
        Assert.Equal(200, (await relay.ChatAsync()).Status);
        Assert.Equal(429, (await relay.ChatAsync()).Status);

        var configuration = (Microsoft.Extensions.Configuration.IConfigurationRoot)relay.Relay.App.Services.GetService(typeof(Microsoft.Extensions.Configuration.IConfiguration))!;
        configuration["ModelRelay:Keys:0:RequestsPerMinute"] = "3";
        configuration.Reload();

        // Raising the limit frees the difference at once; what was used stays used.
        var (status, _, headers) = await relay.ChatAsync();
        Assert.Equal(200, status);
        Assert.Equal("3", RateLimitedRelay.Header(headers, "x-ratelimit-limit-requests"));
        Assert.Equal(200, (await relay.ChatAsync()).Status);
        Assert.Equal(429, (await relay.ChatAsync()).Status);

        configuration["ModelRelay:Keys:0:RequestsPerMinute"] = null;
        configuration.Reload();
        Assert.Equal(200, (await relay.ChatAsync()).Status);
    }

    [Fact]
    public async Task A_request_larger_than_the_whole_token_limit_is_refused_without_retry_after()
    {
        await using var relay = RateLimitedRelay.Create(s => s.With("ModelRelay:Keys:0:TokensPerMinute", "1000"));

        var (status, body, headers) = await relay.ChatAsync(body: RateLimitedRelay.ChatBody.Replace("\"max_tokens\":100", "\"max_tokens\":5000", StringComparison.Ordinal));

        Assert.Equal(429, status);
        Assert.Equal("rate_limit_request_too_large", body.GetProperty("error").GetProperty("code").GetString());
        Assert.False(headers.Contains("retry-after"));
        Assert.Equal("false", RateLimitedRelay.Header(headers, "x-should-retry"));
        Assert.Empty(relay.Relay.Fake.Requests);
    }

    [Fact]
    public async Task Requests_the_budget_refuses_use_up_none_of_the_rate_limits()
    {
        await using var relay = RateLimitedRelay.Create(s => s
            .With("ModelRelay:Keys:0:RequestsPerMinute", "2")
            .With("ModelRelay:Keys:0:TokensPerMinute", "1000")
            .With("ModelRelay:Keys:0:Budget", "0.0005")
            .With("ModelRelay:Models:gpt-5.5:Price:Input", "1")
            .With("ModelRelay:Models:gpt-5.5:Price:Output", "10"));

        // Each asks for more than the balance holds (100 output tokens at $10 per million); none reaches the upstream.
        for (var i = 0; i < 5; i++)
        {
            var (refused, body, _) = await relay.ChatAsync(body: RateLimitedRelay.ChatBody.Replace("\"max_tokens\":100", "\"max_tokens\":900", StringComparison.Ordinal));
            Assert.Equal(429, refused);
            Assert.Equal("insufficient_quota", body.GetProperty("error").GetProperty("code").GetString());
        }

        // The clock has not moved: the allowance is whole, and two affordable requests pass.
        var (first, _, headers) = await relay.ChatAsync(body: RateLimitedRelay.ChatBody.Replace("\"max_tokens\":100", "\"max_tokens\":10", StringComparison.Ordinal));
        var (second, _, _) = await relay.ChatAsync(body: RateLimitedRelay.ChatBody.Replace("\"max_tokens\":100", "\"max_tokens\":10", StringComparison.Ordinal));
        Assert.Equal((200, 200), (first, second));
        Assert.Equal("1", RateLimitedRelay.Header(headers, "x-ratelimit-remaining-requests"));
        Assert.Equal(2, relay.Relay.Fake.Requests.Count);
    }
}
