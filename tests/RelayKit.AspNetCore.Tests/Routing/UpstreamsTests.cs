using System.ClientModel;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Routing;

/// <summary>
/// Several upstreams for one model (<c>Models:&lt;name&gt;:Upstreams</c>): fallback while nothing reached the caller,
/// weights, key pools that cool per key, breakers, and the headers that name what served. The one fake upstream plays
/// every deployment: each is told apart by the model name it is sent (azure's deployment is <c>gpt55-prod</c>) or the key.
/// </summary>
public sealed class UpstreamsTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":50,"messages":[{"role":"user","content":"Hello"}]}""";

    /// <summary>gpt-5.5 served by openai first and by an Azure-style deployment (<c>api-key</c> header) as its fallback.</summary>
    internal static void PrimaryAndFallback(Dictionary<string, string?> s)
    {
        s["ModelRelay:Providers:azure:Kind"] = "OpenAI";
        s["ModelRelay:Providers:azure:BaseUrl"] = s["ModelRelay:Providers:openai:BaseUrl"];
        s["ModelRelay:Providers:azure:ApiKey"] = "azure-provider-SECRET-3333";
        s["ModelRelay:Providers:azure:AuthHeader"] = "api-key";
        s["ModelRelay:Providers:azure:Headers:x-ms-client"] = "relaykit";
        s["ModelRelay:Models:gpt-5.5:Provider"] = ""; // the test output's appsettings.json (the sample's) names one
        s["ModelRelay:Models:gpt-5.5:Upstreams:0:Provider"] = "openai";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:Provider"] = "azure";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:UpstreamModel"] = "gpt55-prod";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:Priority"] = "1";
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failing_primary_never_reaches_the_caller_while_the_fallback_answers(bool stream)
    {
        await using var relay = FakeRelay.Create(PrimaryAndFallback);
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("gpt55-prod").RespondWithText("From the fallback.");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        string text;
        System.ClientModel.Primitives.PipelineResponse? raw = null;
        if (stream)
        {
            var parts = new List<string>();
            var updates = chat.CompleteChatStreamingAsync([new UserChatMessage("Hello")]);
            await foreach (var update in updates)
            {
                parts.AddRange(update.ContentUpdate.Select(c => c.Text));
            }

            text = string.Concat(parts);
        }
        else
        {
            ClientResult<ChatCompletion> result = await chat.CompleteChatAsync([new UserChatMessage("Hello")]);
            text = result.Value.Content[0].Text;
            Assert.Equal("gpt-5.5", result.Value.Model);
            raw = result.GetRawResponse();
        }

        Assert.Equal("From the fallback.", text);
        if (raw is not null)
        {
            Assert.Equal("azure", Header(raw, "x-relaykit-provider"));
            Assert.Equal("gpt55-prod", Header(raw, "x-relaykit-model"));
            Assert.Equal("2", Header(raw, "x-relaykit-attempts"));
        }

        // The primary was tried first, then the fallback, with its own key in its own header and its own headers.
        Assert.Equal(["gpt-5.5", "gpt55-prod"], relay.Fake.Requests.Select(r => r.Model));
        var sent = relay.Recorder.Exchanges;
        Assert.Equal(["openai", "azure"], sent.Select(e => e.Provider));
        Assert.Equal("azure-provider-SECRET-3333", sent[1].Headers["api-key"]);
        Assert.False(sent[1].Headers.ContainsKey("authorization"));
        Assert.Equal("relaykit", sent[1].Headers["x-ms-client"]);
        Assert.Equal("Bearer " + RelaySettings.OpenAiProviderKey, sent[0].Headers["authorization"]);
        Assert.False(sent[0].Headers.ContainsKey("x-ms-client"));

        // The usage record names what served.
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("azure", record.Provider);
        Assert.Equal("gpt55-prod", record.UpstreamModel);
        Assert.Equal(200, record.StatusCode);
    }

    [Fact]
    public async Task Only_the_attempt_that_answered_is_charged()
    {
        await using var relay = BudgetRelay.Create(1m, PrimaryAndFallback);
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.Overloaded());
        relay.Fake.Setup().ForModel("gpt55-prod").RespondWithText("Paid once.");
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.True(status == 200, body.ToString());
        Assert.Equal("2", headers.GetValues("x-relaykit-attempts").Single());
        var usage = body.GetProperty("usage");
        var expected = BudgetRelay.Cost(usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64());
        Assert.True(expected > 0m);
        Assert.Equal(expected, decimal.Parse(headers.GetValues("x-relaykit-cost-charged").Single(), CultureInfo.InvariantCulture));
        var balance = await relay.Ledger().GetBalanceAsync("alice");
        Assert.Equal(1m - expected, balance!.Balance);
        Assert.Equal(0m, balance.Reserved);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(expected, record.Cost);
    }

    [Fact]
    public async Task When_every_road_fails_the_caller_gets_the_last_upstreams_error_and_the_attempts()
    {
        await using var relay = FakeRelay.Create(PrimaryAndFallback);
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("gpt55-prod").WithFault(FakeFault.Error(502, "server_error", "Deployment gpt55-prod is down."));
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.Equal(502, status);
        Assert.Contains("gpt55-prod is down", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("2", headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal("azure", headers.GetValues("x-relaykit-provider").Single());
        Assert.Equal(2, relay.Fake.Requests.Count);
    }

    [Fact]
    public async Task A_callers_mistake_is_not_retried_elsewhere()
    {
        await using var relay = FakeRelay.Create(PrimaryAndFallback);
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.Error(400, "invalid_request_error", "messages is malformed."));
        var http = relay.App.CreateClient();

        var (status, _, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.Equal(400, status);
        Assert.Equal("1", headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal("gpt-5.5", Assert.Single(relay.Fake.Requests).Model);
    }

    [Fact]
    public async Task Weights_spread_requests_within_a_priority()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            PrimaryAndFallback(s);
            s["ModelRelay:Models:gpt-5.5:Upstreams:0:Weight"] = "3";
            s["ModelRelay:Models:gpt-5.5:Upstreams:1:Priority"] = "0";
            s["ModelRelay:Models:gpt-5.5:Upstreams:1:Weight"] = "1";
        });
        var http = relay.App.CreateClient();

        const int Requests = 1000;
        for (var i = 0; i < Requests; i++)
        {
            var (status, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.True(status == 200, body.ToString());
        }

        var toAzure = relay.Fake.Requests.Count(r => r.Model == "gpt55-prod");
        var toOpenAi = relay.Fake.Requests.Count(r => r.Model == "gpt-5.5");
        Assert.Equal(Requests, toAzure + toOpenAi);
        Assert.InRange(toOpenAi, 750 * 0.9, 750 * 1.1);
        Assert.InRange(toAzure, 250 * 0.9, 250 * 1.1);
    }

    [Fact]
    public async Task A_key_pool_spreads_requests_and_a_key_answered_429_rests_alone()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Providers:openai:ApiKey"] = "";
            s["ModelRelay:Providers:openai:ApiKeys:0"] = "sk-pool-a-SECRET";
            s["ModelRelay:Providers:openai:ApiKeys:1"] = "sk-pool-b-SECRET";
            s["ModelRelay:Resilience:MaxAttempts"] = "2";
        });
        var http = relay.App.CreateClient();
        for (var i = 0; i < 10; i++)
        {
            var (status, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.True(status == 200, body.ToString());
        }

        Assert.Equal(5, SentWith("a"));
        Assert.Equal(5, SentWith("b"));

        // Key a is rate limited for a minute: the request that met it is retried at once with key b (nothing waits for
        // a's minute), and the next requests leave a alone.
        // The fake sees keys redacted; which key a request carried is read from the relay's side (the recorder).
        var sentBefore = relay.Recorder.Exchanges.Count;
        relay.Fake.Setup().When(_ => relay.Recorder.Exchanges[^1].Headers["authorization"] == "Bearer sk-pool-a-SECRET")
            .WithFault(FakeFault.RateLimited(TimeSpan.FromMinutes(1)));
        for (var i = 0; i < 6; i++)
        {
            var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.True(status == 200, body.ToString());
        }

        Assert.Equal(1, SentWith("a", sentBefore));
        Assert.Equal(6, SentWith("b", sentBefore));

        // The log names the pool's key by its place, never by its value.
        Assert.Contains(relay.App.Logs.GetSnapshot(), l => l.Message.Contains("openai#0", StringComparison.Ordinal));
        Assert.DoesNotContain(relay.App.Logs.GetSnapshot(), l => l.Message.Contains("sk-pool-", StringComparison.Ordinal));

        int SentWith(string key, int skip = 0) =>
            relay.Recorder.Exchanges.Skip(skip).Count(e => e.Headers["authorization"] == $"Bearer sk-pool-{key}-SECRET");
    }

    [Fact]
    public async Task A_breaker_opens_after_failures_in_a_row_skips_its_upstream_and_closes_after_a_good_trial()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        await using var relay = FakeRelay.Create(s =>
        {
            PrimaryAndFallback(s);
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Resilience:BreakFor"] = "00:00:30";
        }, services: services => services.AddSingleton<TimeProvider>(time));
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();

        async Task<string> ServedByAsync()
        {
            var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.True(status == 200, body.ToString());
            return headers.GetValues("x-relaykit-provider").Single() + "/" + headers.GetValues("x-relaykit-attempts").Single();
        }

        // Two failures in a row open openai's breaker; the fallback serves each request.
        Assert.Equal("azure/2", await ServedByAsync());
        Assert.Equal("azure/2", await ServedByAsync());
        Assert.Contains(relay.App.Logs.GetSnapshot(), l => l.Message.Contains("failed 2 attempts in a row", StringComparison.Ordinal));

        // Open: openai is not tried at all.
        var before = relay.Fake.Requests.Count(r => r.Model == "gpt-5.5");
        Assert.Equal("azure/1", await ServedByAsync());
        Assert.Equal("azure/1", await ServedByAsync());
        Assert.Equal(before, relay.Fake.Requests.Count(r => r.Model == "gpt-5.5"));

        // After BreakFor one trial goes to openai; it is well again, answers, and the breaker closes.
        relay.Fake.Reset();
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("openai/1", await ServedByAsync());
        Assert.Equal("openai/1", await ServedByAsync());
        Assert.Contains(relay.App.Logs.GetSnapshot(), l => l.Message.Contains("back in rotation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_half_open_trial_that_fails_opens_the_breaker_again()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        await using var relay = FakeRelay.Create(s =>
        {
            PrimaryAndFallback(s);
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Resilience:BreakFor"] = "00:00:30";
        }, services: services => services.AddSingleton<TimeProvider>(time));
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(500));
        var http = relay.App.CreateClient();
        for (var i = 0; i < 2; i++)
        {
            await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        }

        time.Advance(TimeSpan.FromSeconds(31));
        var (_, _, trial) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal("2", trial.GetValues("x-relaykit-attempts").Single()); // the trial failed; the fallback answered
        var tried = relay.Fake.Requests.Count(r => r.Model == "gpt-5.5");

        var (_, _, after) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal("1", after.GetValues("x-relaykit-attempts").Single());
        Assert.Equal(tried, relay.Fake.Requests.Count(r => r.Model == "gpt-5.5"));
    }

    [Fact]
    public async Task With_more_attempts_than_upstreams_one_upstream_is_retried_after_a_short_wait()
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Resilience:MaxAttempts"] = "3");
        relay.Fake.Setup().ForModel("gpt-5.5").Times(2).WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.True(status == 200, body.ToString());
        Assert.Equal("3", headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal(3, relay.Fake.Requests.Count);
    }

    [Fact]
    public async Task A_retry_after_longer_than_MaxRetryAfter_is_not_waited_for()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Resilience:MaxAttempts"] = "3";
            s["ModelRelay:Resilience:MaxRetryAfter"] = "00:00:01";
        });
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.RateLimited(TimeSpan.FromSeconds(20)));
        var http = relay.App.CreateClient();

        var started = DateTime.UtcNow;
        var (status, _, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.Equal(429, status);
        Assert.Equal("1", headers.GetValues("x-relaykit-attempts").Single());
        Assert.Single(relay.Fake.Requests);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "the relay waited for the upstream's retry-after");
    }

    [Theory]
    [InlineData(503, null, true)]
    [InlineData(529, null, true)]
    [InlineData(429, null, true)]
    [InlineData(408, null, true)]
    [InlineData(503, "false", false)]
    [InlineData(400, null, false)]
    [InlineData(401, null, false)]
    [InlineData(404, null, false)]
    [InlineData(501, null, false)]
    public void Only_answers_an_upstream_could_give_otherwise_are_retried(int status, string? shouldRetry, bool retried)
    {
        using var response = new HttpResponseMessage((System.Net.HttpStatusCode)status);
        if (shouldRetry is not null)
        {
            response.Headers.TryAddWithoutValidation("x-should-retry", shouldRetry);
        }

        Assert.Equal(retried, RelayKit.AspNetCore.Forwarding.UpstreamForwarder.IsRetryable(response));
    }

    [Theory]
    [InlineData("ModelRelay:Models:gpt-5.5:Provider", "openai", "sets both Upstreams and Provider")]
    [InlineData("ModelRelay:Models:gpt-5.5:Upstreams:1:Provider", "nowhere", "names the unknown provider 'nowhere'")]
    [InlineData("ModelRelay:Models:gpt-5.5:Upstreams:1:Weight", "0", "Upstreams:1:Weight must be at least 1")]
    [InlineData("ModelRelay:Providers:azure:AuthHeader", "x-secret", "AuthHeader 'x-secret' is not one the relay sends keys in")]
    [InlineData("ModelRelay:Providers:azure:ApiKeys:0", "second", "sets both ApiKey and ApiKeys")]
    [InlineData("ModelRelay:Resilience:BreakAfterFailures", "1", "BreakAfterFailures must be 0 (no breakers) or at least 2")]
    [InlineData("ModelRelay:Resilience:MaxAttempts", "0", "MaxAttempts must be at least 1")]
    public async Task A_broken_upstreams_setting_fails_at_start_naming_its_path(string key, string value, string message)
    {
        await using var relay = FakeRelay.Create(s =>
        {
            PrimaryAndFallback(s);
            s[key] = value;
        });

        var error = Assert.Throws<OptionsValidationException>(() => relay.App.CreateClient());
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static string? Header(System.ClientModel.Primitives.PipelineResponse response, string name) =>
        response.Headers.TryGetValue(name, out var value) ? value : null;
}
