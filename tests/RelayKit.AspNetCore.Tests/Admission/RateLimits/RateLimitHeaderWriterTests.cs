using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

public sealed class RateLimitHeaderWriterTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(12, "12ms")]
    [InlineData(999.2, "1s")]
    [InlineData(1000, "1s")]
    [InlineData(1500, "1.5s")]
    [InlineData(1020, "1.02s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(252_172, "4m12.172s")]
    [InlineData(3_600_000, "1h0m0s")]
    [InlineData(83_909_144, "23h18m29.144s")]
    public void Formats_durations_as_OpenAI_sends_them(double milliseconds, string expected)
    {
        Assert.Equal(expected, RateLimitHeaderWriter.FormatOpenAIDuration(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void Formats_reset_times_as_RFC_3339_rounded_up_to_the_second()
    {
        var instant = new DateTimeOffset(2026, 3, 1, 13, 59, 59, 1, TimeSpan.FromHours(1));

        Assert.Equal("2026-03-01T13:00:00Z", RateLimitHeaderWriter.FormatRfc3339(instant));
        Assert.Equal("2026-03-01T12:59:59Z", RateLimitHeaderWriter.FormatRfc3339(instant.AddMilliseconds(-1)));
    }

    [Fact]
    public async Task Writes_OpenAI_headers_that_count_down()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 60, tpm: 90_000));

        var first = Write(RateLimitWireFormat.OpenAI, await host.Limiter.AcquireAsync("alice", "gpt-4o", 1500));
        var second = Write(RateLimitWireFormat.OpenAI, await host.Limiter.AcquireAsync("alice", "gpt-4o", 1500));

        Assert.Equal("60", first["x-ratelimit-limit-requests"]);
        Assert.Equal("59", first["x-ratelimit-remaining-requests"]);
        Assert.Equal("1s", first["x-ratelimit-reset-requests"]);
        Assert.Equal("90000", first["x-ratelimit-limit-tokens"]);
        Assert.Equal("88500", first["x-ratelimit-remaining-tokens"]);
        Assert.Equal("1s", first["x-ratelimit-reset-tokens"]);
        Assert.Equal("58", second["x-ratelimit-remaining-requests"]);
        Assert.Equal("2s", second["x-ratelimit-reset-requests"]);
        Assert.Equal("87000", second["x-ratelimit-remaining-tokens"]);
        Assert.False(first.ContainsKey("retry-after"));
        Assert.DoesNotContain(first.Keys, k => k.StartsWith("anthropic-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Writes_Anthropic_headers_with_reset_instants()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 50, tpm: 40_000));

        var headers = Write(RateLimitWireFormat.Anthropic, await host.Limiter.AcquireAsync("alice", "claude-sonnet", 4000));

        Assert.Equal("50", headers["anthropic-ratelimit-requests-limit"]);
        Assert.Equal("49", headers["anthropic-ratelimit-requests-remaining"]);
        Assert.Equal("2026-03-01T12:00:02Z", headers["anthropic-ratelimit-requests-reset"]);
        Assert.Equal("40000", headers["anthropic-ratelimit-tokens-limit"]);
        Assert.Equal("36000", headers["anthropic-ratelimit-tokens-remaining"]);
        Assert.Equal("2026-03-01T12:00:06Z", headers["anthropic-ratelimit-tokens-reset"]);
        Assert.DoesNotContain(headers.Keys, k => k.StartsWith("x-ratelimit-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rejection_carries_retry_after_in_whole_seconds_rounded_up_and_in_milliseconds()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", rpm: 50));
        await host.Limiter.AcquireAsync("alice", "m", 0);
        for (var i = 0; i < 49; i++)
        {
            await host.Limiter.AcquireAsync("alice", "m", 0);
        }

        var headers = Write(RateLimitWireFormat.OpenAI, await host.Limiter.AcquireAsync("alice", "m", 0));

        Assert.Equal("2", headers["retry-after"]);
        Assert.Equal("1200", headers["retry-after-ms"]);
        Assert.Equal("0", headers["x-ratelimit-remaining-requests"]);
        Assert.Equal("1m0s", headers["x-ratelimit-reset-requests"]);
    }

    [Fact]
    public void A_short_wait_still_says_at_least_one_second()
    {
        var headers = new HeaderDictionary();

        RateLimitHeaderWriter.WriteRetryAfter(headers, TimeSpan.FromMilliseconds(20));

        Assert.Equal("1", headers["retry-after"]);
        Assert.Equal("20", headers["retry-after-ms"]);
    }

    [Fact]
    public async Task A_request_too_large_gets_no_retry_headers()
    {
        await using var host = new RateLimitTestHost(Settings.Key("alice", tpm: 100));

        var headers = Write(RateLimitWireFormat.OpenAI, await host.Limiter.AcquireAsync("alice", "m", 101));

        Assert.False(headers.ContainsKey("retry-after"));
        Assert.Equal("100", headers["x-ratelimit-remaining-tokens"]);
    }

    private static HeaderDictionary Write(RateLimitWireFormat format, RelayRateLimitLease lease)
    {
        var headers = new HeaderDictionary();
        RateLimitHeaderWriter.Write(headers, format, lease);
        return headers;
    }
}
