using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Protocols;
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_valid_key_in_either_header_lets_the_request_in_whatever_the_other_holds(bool anthropicEndpoint)
    {
        var native = anthropicEndpoint ? WireFormat.Anthropic : WireFormat.OpenAI;
        Assert.Equal("alice", Authenticate(native, ("x-api-key", RelaySettings.AliceKey), ("Authorization", "Bearer some-gateway-token"))?.KeyName);
        Assert.Equal("alice", Authenticate(native, ("x-api-key", "not-a-relay-key"), ("Authorization", $"Bearer {RelaySettings.AliceKey}"))?.KeyName);
        Assert.Null(Authenticate(native, ("x-api-key", "not-a-relay-key"), ("Authorization", "Bearer nor-this")));
    }

    [Theory]
    [InlineData(true, "alice")]
    [InlineData(false, "bob")]
    public void When_both_headers_hold_valid_keys_the_endpoints_native_header_wins(bool anthropicEndpoint, string expected)
    {
        var caller = Authenticate(anthropicEndpoint ? WireFormat.Anthropic : WireFormat.OpenAI, ("x-api-key", RelaySettings.AliceKey), ("Authorization", $"Bearer {RelaySettings.BobKey}"));

        Assert.Equal(expected, caller?.KeyName);
    }

    [Fact]
    public void A_key_without_model_patterns_may_use_every_model()
    {
        var caller = new RelayCaller("open", []);

        Assert.True(caller.MayUse("anything-at-all"));
    }

    private static RelayCaller? Authenticate(params (string Name, string Value)[] headers) => Authenticate(WireFormat.OpenAI, headers);

    private static RelayCaller? Authenticate(WireFormat native, params (string Name, string Value)[] headers)
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
        var found = new RelayKeyAuthenticator(monitor).AuthenticateAsync(http.Request, CancellationToken.None, native);
        Assert.True(found.IsCompletedSuccessfully);
        return found.Result.Caller;
    }
}
