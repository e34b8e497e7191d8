using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Keys;

public sealed class RelayKeyAuthenticatorTests
{
    [Fact]
    public void A_bearer_token_finds_its_key()
    {
        var caller = Authenticate(("Authorization", $"Bearer {RelaySettings.AliceKey}"));

        Assert.Equal("alice", caller?.KeyName);
    }

    [Fact]
    public void An_x_api_key_header_finds_its_key()
    {
        var caller = Authenticate(("x-api-key", RelaySettings.AliceKey));

        Assert.Equal("alice", caller?.KeyName);
    }

    [Fact]
    public void A_key_configured_by_its_hash_is_found_by_its_secret()
    {
        var caller = Authenticate(("x-api-key", RelaySettings.BobKey));

        Assert.Equal("bob", caller?.KeyName);
        Assert.True(caller!.MayUse("gpt-5.5"));
        Assert.False(caller.MayUse("gpt-4o"));
    }

    [Theory]
    [InlineData("Authorization", "Bearer rk-test-alice-7f3b")]
    [InlineData("Authorization", "Basic cmstdGVzdC1hbGljZS03ZjNh")]
    [InlineData("x-api-key", "")]
    [InlineData("x-api-key", "rk-test-alice-7f3")]
    public void A_wrong_or_missing_secret_finds_nobody(string header, string value)
    {
        Assert.Null(Authenticate((header, value)));
    }

    [Fact]
    public void A_key_without_model_patterns_may_use_every_model()
    {
        var caller = new RelayCaller("open", []);

        Assert.True(caller.MayUse("anything-at-all"));
    }

    private static RelayCaller? Authenticate(params (string Name, string Value)[] headers)
    {
        var options = new ModelRelayOptions();
        new ConfigurationBuilder().AddInMemoryCollection(RelaySettings.Unreachable()).Build().GetSection("ModelRelay").Bind(options);
        var monitor = new StaticOptionsMonitor<ModelRelayOptions>(options);
        var http = new DefaultHttpContext();
        foreach (var (name, value) in headers)
        {
            http.Request.Headers[name] = value;
        }

        // Configured keys only: the lookup completes at once, with no store behind it.
        var found = new RelayKeyAuthenticator(monitor).AuthenticateAsync(http.Request, CancellationToken.None);
        Assert.True(found.IsCompletedSuccessfully);
        return found.Result.Caller;
    }
}
