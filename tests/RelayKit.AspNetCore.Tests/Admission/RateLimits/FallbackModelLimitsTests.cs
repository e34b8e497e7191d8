using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>
/// A request counts against the rate limits of every model it reaches, its own <c>model</c> at admission and each
/// fallback in <c>models</c> only when the relay sends it there: listing a limited model as a fallback neither passes
/// its limit nor uses it up.
/// </summary>
public sealed class FallbackModelLimitsTests
{
    private static string Body(string model, string fallbacks, string extra = "") =>
        $$"""{"model":"{{model}}","max_tokens":50,"messages":[{"role":"user","content":"Hello"}],"models":[{{fallbacks}}]{{extra}}}""";

    private static string Plain(string model) =>
        $$"""{"model":"{{model}}","max_tokens":50,"messages":[{"role":"user","content":"Hello"}]}""";

    private static Task<(int Status, System.Text.Json.JsonElement Body, System.Net.Http.Headers.HttpResponseHeaders Headers)> PostAsync(HttpClient http, string body) =>
        RawRelayCall.PostAsync(http, "/v1/chat/completions", body, bearer: RelaySettings.AliceKey);

    [Fact]
    public async Task A_fallback_model_over_its_own_limit_is_passed_over()
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:o*-mini:RequestsPerMinute"] = "1");
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();

        // The model's one request a minute goes to a direct call.
        Assert.Equal(200, (await PostAsync(http, Plain("o4-mini"))).Status);

        var (status, body, headers) = await PostAsync(http, Body("gpt-5.5", "\"o4-mini\""));

        // The failing primary's own answer, not the limited fallback's: o4-mini was never sent this request.
        Assert.True(status == 503, body.ToString());
        Assert.Equal("1", headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal(["o4-mini", "gpt-5.5"], relay.Recorder.Exchanges.Select(e => ModelOf(e.Body)));
    }

    [Fact]
    public async Task A_request_that_falls_back_counts_against_the_fallback_models_limit()
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:o*-mini:RequestsPerMinute"] = "1");
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();

        var (fallbackStatus, fallbackBody, fallbackHeaders) = await PostAsync(http, Body("gpt-5.5", "\"o4-mini\""));
        Assert.True(fallbackStatus == 200, fallbackBody.ToString());
        Assert.Equal("o4-mini", fallbackHeaders.GetValues("x-relaykit-model").Single());

        // The fallback used o4-mini's one request this minute.
        var (status, body, _) = await PostAsync(http, Plain("o4-mini"));
        Assert.Equal(429, status);
        Assert.Equal("rate_limit_exceeded", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_fallback_that_is_never_reached_uses_none_of_its_limits()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Models:o*-mini:RequestsPerMinute"] = "1";
            s["ModelRelay:Models:o*-mini:MaxConcurrentRequests"] = "1";
        });
        var http = relay.App.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            var (status, body, headers) = await PostAsync(http, Body("gpt-5.5", "\"o4-mini\""));
            Assert.True(status == 200, body.ToString());
            Assert.Equal("gpt-5.5", headers.GetValues("x-relaykit-model").Single());
        }

        Assert.Equal(200, (await PostAsync(http, Plain("o4-mini"))).Status);
    }

    [Fact]
    public async Task A_fallbacks_concurrency_slot_is_freed_when_the_request_ends_and_the_key_counts_it_once()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Models:o*-mini:MaxConcurrentRequests"] = "1";
            s["ModelRelay:Keys:0:RequestsPerMinute"] = "3";
        });
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();

        Assert.Equal(200, (await PostAsync(http, Body("gpt-5.5", "\"o4-mini\""))).Status);
        Assert.Equal(200, (await PostAsync(http, Body("gpt-5.5", "\"o4-mini\""))).Status);

        // Two requests that each reached two models are two of the key's three requests, and o4-mini's one slot is free.
        Assert.Equal(200, (await PostAsync(http, Plain("o4-mini"))).Status);
        Assert.Equal(429, (await PostAsync(http, Plain("o4-mini"))).Status);
    }

    [Fact]
    public async Task A_fallback_that_was_reached_but_did_not_answer_keeps_none_of_its_tokens()
    {
        // o*-mini's tokens per minute fit one request's estimate (prompt plus 50 output tokens), not two.
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:o*-mini:TokensPerMinute"] = "100");
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").Times(1).WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("Claude answered.");
        var http = relay.App.CreateClient();

        var (status, body, headers) = await PostAsync(http, Body("gpt-5.5", "\"o4-mini\",\"claude-code-opus-4.8\""));
        Assert.True(status == 200, body.ToString());
        Assert.Equal("anthropic", headers.GetValues("x-relaykit-provider").Single());
        Assert.Equal(["gpt-5.5", "o4-mini", "claude-opus-4-8"], relay.Recorder.Exchanges.Select(e => ModelOf(e.Body)));

        // o4-mini answered nothing: its estimate went back, so a direct call's whole estimate fits again.
        var (direct, directBody, _) = await PostAsync(http, Plain("o4-mini"));
        Assert.True(direct == 200, directBody.ToString());
    }

    [Fact]
    public async Task When_a_limited_fallback_was_the_only_road_left_the_caller_gets_its_429_and_when_to_retry()
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:o*-mini:RequestsPerMinute"] = "1");
        relay.Fake.Setup().ForModel("claude-opus-4-8").Times(1).WithFault(FakeFault.RateLimited(TimeSpan.FromSeconds(30)));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();

        // Anthropic answers 429 for 30 s (longer than MaxRetryAfter: passed to the caller), and o4-mini's minute is used.
        Assert.Equal(429, (await PostAsync(http, Plain("claude-code-opus-4.8"))).Status);
        Assert.Equal(200, (await PostAsync(http, Plain("o4-mini"))).Status);
        var sent = relay.Recorder.Exchanges.Count;

        var (status, body, headers) = await PostAsync(http, Body("claude-code-opus-4.8", "\"o4-mini\""));

        Assert.Equal(429, status);
        Assert.Equal("rate_limit_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("o4-mini", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var retryAfter = int.Parse(headers.GetValues("retry-after").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 31, 60); // o4-mini's minute, not Anthropic's 30 s nor BreakFor
        Assert.Equal(sent, relay.Recorder.Exchanges.Count);
    }

    [Fact]
    public async Task When_the_limited_fallback_is_the_last_road_after_a_primary_that_never_answered_the_caller_gets_its_429()
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:o*-mini:RequestsPerMinute"] = "1");
        relay.Fake.Setup().ForModel("claude-opus-4-8").WithFault(FakeFault.ConnectionReset());
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();
        Assert.Equal(200, (await PostAsync(http, Plain("o4-mini"))).Status);

        var (status, body, headers) = await PostAsync(http, Body("claude-code-opus-4.8", "\"o4-mini\""));

        // No upstream answered and the last road was o4-mini's limit: its 429 and when to come back (as the README says),
        // not the primary's 502, which would send the caller straight back into the same limit.
        Assert.True(status == 429, body.ToString());
        Assert.Contains("o4-mini", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var retryAfter = int.Parse(headers.GetValues("retry-after").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        Assert.DoesNotContain(relay.Recorder.Exchanges.Skip(1), e => ModelOf(e.Body) == "o4-mini");
    }

    [Fact]
    public async Task A_fallback_whose_format_cannot_carry_the_request_uses_none_of_its_limits()
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:claude-code-opus-4.8:RequestsPerMinute"] = "1");
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("Claude answered.");
        var http = relay.App.CreateClient();

        // n=2 has no Anthropic equivalent: the Anthropic fallback is passed over, nothing is sent there.
        var (status, body, _) = await PostAsync(http, Body("gpt-5.5", "\"claude-code-opus-4.8\"", ",\"n\":2"));
        Assert.True(status == 503, body.ToString());
        Assert.Equal(["gpt-5.5"], relay.Recorder.Exchanges.Select(e => ModelOf(e.Body)));

        // Claude's one request this minute is still there for a request that reaches it.
        var (direct, directBody, _) = await PostAsync(http, Plain("claude-code-opus-4.8"));
        Assert.True(direct == 200, directBody.ToString());
    }

    [Fact]
    public async Task A_fallback_whose_tokens_limit_cannot_hold_the_request_is_passed_over_even_when_the_model_asked_for_counts_no_tokens()
    {
        // gpt-5.5 has no tokens-per-minute limit; o4-mini's is smaller than the request's 50 output tokens alone.
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Models:o*-mini:TokensPerMinute"] = "40");
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();

        var (status, body, _) = await PostAsync(http, Body("gpt-5.5", "\"o4-mini\""));

        Assert.True(status == 503, body.ToString());
        Assert.Equal(["gpt-5.5"], relay.Recorder.Exchanges.Select(e => ModelOf(e.Body)));
    }

    [Fact]
    public async Task A_fallback_of_the_same_wildcard_entry_is_held_to_its_own_pair_limit()
    {
        // o3-mini and o4-mini are both served by the entry o*-mini, but alice's limit is on o4-mini alone.
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Keys:0:ModelLimits:o4-mini:RequestsPerMinute"] = "1");
        relay.Fake.Setup().ForModel("o3-mini").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();

        // alice's one o4-mini request this minute goes to a direct call.
        Assert.Equal(200, (await PostAsync(http, Plain("o4-mini"))).Status);

        var (status, body, _) = await PostAsync(http, Body("o3-mini", "\"o4-mini\""));

        // o4-mini is passed over: listing it as a fallback of a model of the same entry does not pass alice's limit on it.
        Assert.True(status == 503, body.ToString());
        Assert.Equal(["o4-mini", "o3-mini"], relay.Recorder.Exchanges.Select(e => ModelOf(e.Body)));
    }

    [Fact]
    public async Task A_limit_that_counts_both_the_model_and_its_fallback_counts_a_request_once()
    {
        // One pattern of alice's matches gpt-5.5 and o4-mini: one counter, two requests a minute.
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Keys:0:ModelLimits:*:RequestsPerMinute"] = "2");
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();

        var (fallback, fallbackBody, _) = await PostAsync(http, Body("gpt-5.5", "\"o4-mini\""));
        Assert.True(fallback == 200, fallbackBody.ToString());

        // The request that reached two models under the one limit counted once there: a second request still passes.
        var (status, body, _) = await PostAsync(http, Plain("o4-mini"));
        Assert.True(status == 200, body.ToString());
        Assert.Equal(429, (await PostAsync(http, Plain("o4-mini"))).Status);
    }

    [Fact]
    public async Task Two_fallbacks_under_one_pattern_limit_count_a_request_once_there()
    {
        // One pattern of alice's matches both fallbacks (not the model asked for): one counter, two requests a minute.
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Keys:0:ModelLimits:o*-mini:RequestsPerMinute"] = "2");
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o3-mini").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        var http = relay.App.CreateClient();

        var (fallback, fallbackBody, _) = await PostAsync(http, Body("gpt-5.5", "\"o3-mini\", \"o4-mini\""));
        Assert.True(fallback == 200, fallbackBody.ToString());
        Assert.Contains(relay.Recorder.Exchanges, e => ModelOf(e.Body) == "o3-mini");

        // The request reached both fallbacks under the one limit and counted once there: one more request passes.
        var (status, body, _) = await PostAsync(http, Plain("o4-mini"));
        Assert.True(status == 200, body.ToString());
        Assert.Equal(429, (await PostAsync(http, Plain("o4-mini"))).Status);
    }

    [SkippableFact]
    public async Task Two_instances_on_one_redis_hold_a_fallback_models_limit_between_them()
    {
        var redis = TestServers.RequireRedis();
        var prefix = "relaykit-test-" + Guid.NewGuid().ToString("N");
        void Settings(Dictionary<string, string?> s) => s
            .With("ModelRelay:Models:o*-mini:RequestsPerMinute", "1")
            .With("ModelRelay:RateLimits:Redis", redis)
            .With("ModelRelay:RateLimits:RedisKeyPrefix", prefix);
        await using var first = FakeRelay.Create(Settings);
        await using var second = FakeRelay.Create(Settings);
        foreach (var relay in new[] { first, second })
        {
            relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
            relay.Fake.Setup().ForModel("o4-mini").RespondWithText("mini");
        }

        var (fallback, fallbackBody, _) = await PostAsync(first.App.CreateClient(), Body("gpt-5.5", "\"o4-mini\""));
        Assert.True(fallback == 200, fallbackBody.ToString());

        // The other instance sees o4-mini's minute used by the first one's fallback.
        Assert.Equal(429, (await PostAsync(second.App.CreateClient(), Plain("o4-mini"))).Status);
        var (passedOver, _, _) = await PostAsync(second.App.CreateClient(), Body("gpt-5.5", "\"o4-mini\""));
        Assert.Equal(503, passedOver);
        Assert.DoesNotContain(second.Recorder.Exchanges, e => ModelOf(e.Body) == "o4-mini");
    }

    private static string? ModelOf(string body) => System.Text.Json.Nodes.JsonNode.Parse(body)?["model"]?.GetValue<string>();
}
