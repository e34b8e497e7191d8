using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Usage;

public sealed class SecretScrubberTests
{
    [Theory]
    [InlineData("use sk-proj-Abc123Def456Ghi789 now", "use [redacted] now")]
    [InlineData("sk-ant-api03-Zx8Yw7Vu6Ts5Rq4", "[redacted]")]
    [InlineData("relay key rk-live-7Hq2mZx9Lp4Tn8Vb3Kd6.", "relay key [redacted].")]
    [InlineData("rk-dev-local-only", "[redacted]")]
    [InlineData("model sk-my-lowercase-key here", "model [redacted] here")]
    [InlineData("Authorization: Bearer abc.def-ghi", "Authorization: [redacted]")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "token [redacted]")]
    public void Secret_looking_strings_are_redacted(string text, string expected) =>
        Assert.Equal(expected, SecretScrubber.Scrub(text));

    [Theory]
    [InlineData("api_connection_error")]
    [InlineData("key_rotation_required")]
    [InlineData("gpt-4o-mini-2024-07-18")]
    [InlineData("claude-sonnet-4-20250514")]
    [InlineData("team-a")]
    public void Ordinary_names_are_left_alone(string text) =>
        Assert.Equal(text, SecretScrubber.Scrub(text));
}
