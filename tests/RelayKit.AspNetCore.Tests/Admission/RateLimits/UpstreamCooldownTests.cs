using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

public sealed class UpstreamCooldownTests
{
    [Fact]
    public async Task An_upstream_is_blocked_for_its_retry_after_and_then_free()
    {
        await using var host = new RateLimitTestHost(new Dictionary<string, string?>());
        var cooldown = host.Services.GetRequiredService<UpstreamCooldown>();

        var until = cooldown.RecordRateLimited("openai", TimeSpan.FromSeconds(30));

        Assert.Equal(host.Time.GetUtcNow().AddSeconds(30), until);
        Assert.Equal(TimeSpan.FromSeconds(30), cooldown.RemainingCooldown("openai"));
        Assert.Null(cooldown.RemainingCooldown("anthropic"));
        host.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(20), cooldown.RemainingCooldown("OpenAI"));
        host.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.Null(cooldown.RemainingCooldown("openai"));
    }

    [Fact]
    public async Task A_shorter_retry_after_does_not_shorten_a_cooldown_and_waits_are_bounded()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ModelRelay:RateLimits:UpstreamDefaultCooldown"] = "00:00:07",
            ["ModelRelay:RateLimits:UpstreamMaxCooldown"] = "00:02:00",
        };
        await using var host = new RateLimitTestHost(settings);
        var cooldown = host.Services.GetRequiredService<UpstreamCooldown>();

        cooldown.RecordRateLimited("a", TimeSpan.FromSeconds(60));
        cooldown.RecordRateLimited("a", TimeSpan.FromSeconds(5));
        cooldown.RecordRateLimited("b", null);
        cooldown.RecordRateLimited("c", TimeSpan.FromDays(1));

        Assert.Equal(TimeSpan.FromSeconds(60), cooldown.RemainingCooldown("a"));
        Assert.Equal(TimeSpan.FromSeconds(7), cooldown.RemainingCooldown("b"));
        Assert.Equal(TimeSpan.FromMinutes(2), cooldown.RemainingCooldown("c"));
    }

    [Fact]
    public async Task Reads_the_wait_from_an_upstream_429()
    {
        await using var host = new RateLimitTestHost(new Dictionary<string, string?>());
        var cooldown = host.Services.GetRequiredService<UpstreamCooldown>();
        var now = host.Time.GetUtcNow();

        using var precise = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        precise.Headers.TryAddWithoutValidation("retry-after-ms", "1500");
        precise.Headers.TryAddWithoutValidation("retry-after", "2");
        using var seconds = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        seconds.Headers.TryAddWithoutValidation("retry-after", "7");
        using var date = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        date.Headers.TryAddWithoutValidation("retry-after", now.AddSeconds(42).ToString("R"));

        Assert.Equal(TimeSpan.FromMilliseconds(1500), UpstreamCooldown.ReadRetryAfter(precise.Headers, now));
        Assert.Equal(TimeSpan.FromSeconds(7), UpstreamCooldown.ReadRetryAfter(seconds.Headers, now));
        Assert.Equal(TimeSpan.FromSeconds(42), UpstreamCooldown.ReadRetryAfter(date.Headers, now));
        Assert.Equal(now.AddSeconds(7), cooldown.RecordRateLimitedResponse("x", seconds.Headers));
    }
}
