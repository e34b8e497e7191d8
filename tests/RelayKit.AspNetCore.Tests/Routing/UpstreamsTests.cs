using System.ClientModel;
using Anthropic.Models.Messages;
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


    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failing_primary_never_reaches_the_caller_while_the_fallback_answers(bool stream)
    {
        await using var relay = FakeRelay.Create(RelaySettings.PrimaryAndFallback);
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

    /// <summary>gpt-5.5 served by openai first, and by Claude on the Anthropic provider when openai fails.</summary>
    private static void OpenAiThenAnthropic(Dictionary<string, string?> s)
    {
        s["ModelRelay:Models:gpt-5.5:Provider"] = "";
        s["ModelRelay:Models:gpt-5.5:Upstreams:0:Provider"] = "openai";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:Provider"] = "anthropic";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:UpstreamModel"] = "claude-opus-4-8";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:Priority"] = "1";
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_OpenAI_caller_falls_back_to_an_Anthropic_upstream_through_translation(bool stream)
    {
        await using var relay = BudgetRelay.Create(1m, OpenAiThenAnthropic);
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.Overloaded());
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText("Claude stood in.");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        string text;
        if (stream)
        {
            var parts = new List<string>();
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello")], new ChatCompletionOptions { MaxOutputTokenCount = 64 }))
            {
                parts.AddRange(update.ContentUpdate.Select(c => c.Text));
            }

            text = string.Concat(parts);
        }
        else
        {
            ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hello")], new ChatCompletionOptions { MaxOutputTokenCount = 64 });
            text = completion.Content[0].Text;
            Assert.Equal("gpt-5.5", completion.Model);
        }

        Assert.Equal("Claude stood in.", text);

        // The first attempt went out in OpenAI's format, the second as an Anthropic Messages request.
        var sent = relay.Recorder.Exchanges;
        Assert.Equal(["openai", "anthropic"], sent.Select(e => e.Provider));
        Assert.EndsWith("/chat/completions", sent[0].Uri.AbsolutePath, StringComparison.Ordinal);
        Assert.EndsWith("/v1/messages", sent[1].Uri.AbsolutePath, StringComparison.Ordinal);
        var messages = System.Text.Json.Nodes.JsonNode.Parse(sent[1].Body)!;
        Assert.Equal("claude-opus-4-8", (string?)messages["model"]);
        Assert.Equal(64, (int?)messages["max_tokens"]);
        Assert.Null(messages["stream_options"]);
        Assert.Null(messages["max_completion_tokens"]);
        Assert.Equal(RelaySettings.AnthropicProviderKey, sent[1].Headers["x-api-key"]);

        // Charged once, for what Claude answered, as its usage record says.
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("anthropic", record.Provider);
        Assert.True(record.OutputTokens > 0);
        var balance = await relay.Ledger().GetBalanceAsync("alice");
        Assert.Equal(1m - record.Cost, balance!.Balance);
        Assert.Equal(0m, balance.Reserved);
        Assert.True(record.Cost > 0m);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_Anthropic_caller_falls_back_to_an_OpenAI_upstream_through_translation(bool stream)
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Models:claude-code-opus-4.8:Provider"] = "";
            s["ModelRelay:Models:claude-code-opus-4.8:UpstreamModel"] = null;
            s["ModelRelay:Models:claude-code-opus-4.8:Upstreams:0:Provider"] = "anthropic";
            s["ModelRelay:Models:claude-code-opus-4.8:Upstreams:0:UpstreamModel"] = "claude-opus-4-8";
            s["ModelRelay:Models:claude-code-opus-4.8:Upstreams:1:Provider"] = "openai";
            s["ModelRelay:Models:claude-code-opus-4.8:Upstreams:1:UpstreamModel"] = "gpt-5.5";
            s["ModelRelay:Models:claude-code-opus-4.8:Upstreams:1:Priority"] = "1";
        });
        relay.Fake.Setup().ForModel("claude-opus-4-8").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText("GPT stood in.");
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        var prompt = new MessageCreateParams { Model = "claude-code-opus-4.8", MaxTokens = 64, Messages = [new UserMessageParam("Hello")] };

        var text = "";
        if (stream)
        {
            await foreach (var streamEvent in client.Messages.CreateStreaming(prompt))
            {
                if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var part))
                {
                    text += part.Text;
                }
            }
        }
        else
        {
            var message = await client.Messages.Create(prompt);
            Assert.True(message.Content[0].TryPickText(out var block));
            text = block.Text;
        }

        Assert.Equal("GPT stood in.", text);
        var sent = relay.Recorder.Exchanges;
        Assert.Equal(["anthropic", "openai"], sent.Select(e => e.Provider));
        Assert.EndsWith("/chat/completions", sent[1].Uri.AbsolutePath, StringComparison.Ordinal);
        Assert.Equal("gpt-5.5", (string?)System.Text.Json.Nodes.JsonNode.Parse(sent[1].Body)!["model"]);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("openai", record.Provider);
        Assert.True(record.OutputTokens > 0);
    }

    [Fact]
    public async Task The_readme_recipe_first_deployment_fails_twice_the_second_answers()
    {
        await using var relay = FakeRelay.Create(RelaySettings.PrimaryAndFallback);
        relay.Fake.Setup().ForModel("gpt-5.5").Times(2).WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("gpt55-prod").RespondWithText("from the second");
        var http = relay.App.CreateClient();

        for (var i = 0; i < 2; i++)
        {
            var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.True(status == 200, body.ToString());
            Assert.Equal("from the second", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal("2", headers.GetValues("x-relaykit-attempts").Single());
        }

        var (third, _, thirdHeaders) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, third);
        Assert.Equal("openai", thirdHeaders.GetValues("x-relaykit-provider").Single());
    }

    [Fact]
    public async Task A_held_answer_given_after_a_fallback_of_the_other_format_failed_is_in_the_callers_own_format()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            OpenAiThenAnthropic(s);
            s["ModelRelay:UpstreamTimeout"] = "00:00:01";
        });
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.Error(503, "server_error", "The OpenAI deployment is overloaded."));
        // Far past the relay's 1 s timeout: with 3 s, a full suite on two busy cores once fired the timeout's timer late
        // enough for Claude's answer to arrive first. The relay's cut aborts the fake's wait, so the test does not wait it out.
        relay.Fake.Setup().ForModel("claude-opus-4-8").WithFault(FakeFault.Latency(TimeSpan.FromSeconds(30)));
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        // Claude timed out (after the request had been translated for it); the OpenAI answer held from the first attempt
        // is what the caller gets, as OpenAI wrote it.
        Assert.Equal(503, status);
        Assert.Equal("The OpenAI deployment is overloaded.", body.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("server_is_overloaded", body.GetProperty("error").GetProperty("code").GetString()); // untouched by a translator
        Assert.Equal("openai", headers.GetValues("x-relaykit-provider").Single());
        Assert.Equal("2", headers.GetValues("x-relaykit-attempts").Single());
    }

    [Fact]
    public async Task A_request_the_first_upstreams_format_cannot_carry_goes_to_one_of_the_callers_format()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Models:gpt-5.5:Provider"] = "";
            s["ModelRelay:Models:gpt-5.5:Upstreams:0:Provider"] = "anthropic";
            s["ModelRelay:Models:gpt-5.5:Upstreams:0:UpstreamModel"] = "claude-opus-4-8";
            s["ModelRelay:Models:gpt-5.5:Upstreams:1:Provider"] = "openai";
            s["ModelRelay:Models:gpt-5.5:Upstreams:1:Priority"] = "1";
        });
        var http = relay.App.CreateClient();

        // n=2 has no Anthropic counterpart.
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions",
            """{"model":"gpt-5.5","n":2,"messages":[{"role":"user","content":"Hello"}]}""", bearer: RelaySettings.AliceKey);

        Assert.True(status == 200, body.ToString());
        Assert.Equal("openai", headers.GetValues("x-relaykit-provider").Single());
        Assert.Equal(["openai"], relay.Recorder.Exchanges.Select(e => e.Provider));
    }

    [Fact]
    public async Task Rests_another_instance_publishes_are_never_longer_than_this_one_would_take()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        var share = new CapturingShare();
        await using var relay = FakeRelay.Create(s =>
        {
            RelaySettings.PrimaryAndFallback(s);
            s["ModelRelay:Resilience:BreakFor"] = "00:00:30";
        }, services: services =>
        {
            services.AddSingleton<TimeProvider>(time);
            services.AddSingleton<RelayKit.AspNetCore.Routing.IUpstreamRestShare>(share);
        });
        var http = relay.App.CreateClient();
        var (warm, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, warm);
        var farFuture = new DateTimeOffset(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

        // A garbled or skewed message: openai's breaker "rests until the year 9000", and a key nobody has cools as long.
        share.Received!(new RelayKit.AspNetCore.Routing.UpstreamRest(RelayKit.AspNetCore.Routing.UpstreamRest.Breaker, "gpt-5.5|openai|*", farFuture));
        share.Received!(new RelayKit.AspNetCore.Routing.UpstreamRest(RelayKit.AspNetCore.Routing.UpstreamRest.CoolDown, "nobody#3", farFuture));
        var (during, _, duringHeaders) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, during);
        Assert.Equal("azure", duringHeaders.GetValues("x-relaykit-provider").Single());

        // It rests at most BreakFor here.
        time.Advance(TimeSpan.FromSeconds(31));
        var (after, _, afterHeaders) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, after);
        Assert.Equal("openai", afterHeaders.GetValues("x-relaykit-provider").Single());
        Assert.Null(relay.App.Services.GetRequiredService<RelayKit.AspNetCore.Admission.RateLimits.UpstreamCooldown>().RemainingCooldown("nobody#3"));
    }

    [Theory]
    [InlineData("1e300")]
    [InlineData("Infinity")]
    public void An_absurd_retry_after_ms_is_a_long_wait_not_an_overflow(string value)
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("retry-after-ms", value);

        var wait = RelayKit.AspNetCore.Admission.RateLimits.UpstreamCooldown.ReadRetryAfter(response.Headers, DateTimeOffset.UtcNow);

        Assert.Equal(TimeSpan.FromDays(1), wait);
    }

    private sealed class CapturingShare : RelayKit.AspNetCore.Routing.IUpstreamRestShare
    {
        public Action<RelayKit.AspNetCore.Routing.UpstreamRest>? Received { get; private set; }

        public void Publish(RelayKit.AspNetCore.Routing.UpstreamRest rest)
        {
        }

        public void Subscribe(Action<RelayKit.AspNetCore.Routing.UpstreamRest> received) => Received = received;
    }

    [Fact]
    public async Task Only_the_attempt_that_answered_is_charged()
    {
        await using var relay = BudgetRelay.Create(1m, RelaySettings.PrimaryAndFallback);
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
        await using var relay = FakeRelay.Create(RelaySettings.PrimaryAndFallback);
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
        await using var relay = FakeRelay.Create(RelaySettings.PrimaryAndFallback);
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
            RelaySettings.PrimaryAndFallback(s);
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
    public async Task A_key_pool_beside_another_upstream_of_its_priority_still_spreads_over_its_keys()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            RelaySettings.PrimaryAndFallback(s);
            s["ModelRelay:Models:gpt-5.5:Upstreams:1:Priority"] = "0"; // azure beside openai, equal weights
            s["ModelRelay:Providers:openai:ApiKey"] = "";
            s["ModelRelay:Providers:openai:ApiKeys:0"] = "sk-pool-a-SECRET";
            s["ModelRelay:Providers:openai:ApiKeys:1"] = "sk-pool-b-SECRET";
        });
        var http = relay.App.CreateClient();
        for (var i = 0; i < 20; i++)
        {
            var (status, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.True(status == 200, body.ToString());
        }

        // Half to each upstream, and openai's half over both of its keys: the key turn moves only when openai is chosen
        // (it used to move on azure's requests too, so openai, chosen every other time, always met the same key).
        Assert.Equal(10, relay.Fake.Requests.Count(r => r.Model == "gpt55-prod"));
        Assert.Equal(5, SentWith("a"));
        Assert.Equal(5, SentWith("b"));

        int SentWith(string key) => relay.Recorder.Exchanges.Count(e => e.Headers.TryGetValue("authorization", out var value) && value == $"Bearer sk-pool-{key}-SECRET");
    }

    [Fact]
    public async Task A_breaker_opens_after_failures_in_a_row_skips_its_upstream_and_closes_after_a_good_trial()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        await using var relay = BreakingRelay(time);
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
        await using var relay = BreakingRelay(time);
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
    public async Task When_every_upstream_rests_the_caller_gets_a_503_in_its_format_and_nothing_is_sent()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Resilience:BreakAfterFailures"] = "2",
            services: services => services.AddSingleton<TimeProvider>(time));
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(500));
        var http = relay.App.CreateClient();
        for (var i = 0; i < 2; i++)
        {
            var (failed, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.Equal(500, failed);
        }

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.Equal(503, status);
        Assert.Equal("upstream_unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("30", headers.GetValues("retry-after").Single());
        Assert.Equal(2, relay.Fake.Requests.Count);
    }

    [Fact]
    public async Task A_request_that_meets_a_half_open_trial_under_way_does_not_wait_for_it()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Resilience:MaxAttempts"] = "3";
            s["ModelRelay:Resilience:MaxRetryAfter"] = "00:00:00";
        }, services: services => services.AddSingleton<TimeProvider>(time));
        relay.Fake.Setup().ForModel("gpt-5.5").Times(2).WithFault(FakeFault.ServerError(500));
        var http = relay.App.CreateClient();
        var (opened, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(500, opened);

        // The break ends; the trial request is slow to answer, and a second request comes meanwhile.
        time.Advance(TimeSpan.FromSeconds(31));
        relay.Fake.Setup().ForModel("gpt-5.5").Times(1).WithFault(FakeFault.Latency(TimeSpan.FromSeconds(3)));
        var trial = RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        await WaitForAsync(() => relay.Fake.Requests.Count == 3);

        var stopped = new List<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == RelayKit.AspNetCore.Usage.Telemetry.RelayActivitySource.SourceName,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) =>
                System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (stopped) { stopped.Add(activity); } },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.False(trial.IsCompleted, "the second request waited for the trial");
        Assert.Equal(503, status);
        Assert.Equal("upstream_unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(200, (await trial).Status);

        // The breaker refused the second request before anything was sent: no attempt span, and none in its record.
        var requestId = headers.GetValues("x-request-id").Single();
        System.Diagnostics.Activity[] spans;
        lock (stopped)
        {
            spans = [.. stopped];
        }

        var requestSpan = Assert.Single(spans, a => (string?)a.GetTagItem("relaykit.request.id") == requestId);
        Assert.DoesNotContain(spans, a => a.ParentSpanId == requestSpan.SpanId);
        var record = Assert.Single(await relay.WaitForRecordsAsync(3), r => r.RequestId == requestId);
        Assert.Empty(record.Attempts);
    }

    [Fact]
    public async Task A_caller_who_leaves_during_the_half_open_trial_does_not_close_the_breaker()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
        await using var relay = BreakingRelay(time);
        relay.Fake.Setup().ForModel("gpt-5.5").Times(2).WithFault(FakeFault.ServerError(500));
        var http = relay.App.CreateClient();
        for (var i = 0; i < 2; i++)
        {
            await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        }

        // The break ends; the trial goes to openai, which is slow, and its caller hangs up before any answer.
        time.Advance(TimeSpan.FromSeconds(31));
        relay.Fake.Setup().ForModel("gpt-5.5").Times(1).WithFault(FakeFault.Latency(TimeSpan.FromSeconds(5)));
        using var leave = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(ChatBody, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", RelaySettings.AliceKey);
        var trial = http.SendAsync(request, leave.Token);
        await WaitForAsync(() => relay.Fake.Requests.Count(r => r.Model == "gpt-5.5") == 3);
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => trial);
        // The abandoned request's record is written after its attempt ended, so its outcome has reached the breaker.
        Assert.Contains(await relay.WaitForRecordsAsync(3), r => r.ErrorType == "client_aborted");

        // The trial proved nothing: openai still rests, and the next request goes straight to the fallback. Had the
        // abort closed the breaker, openai (well again) would serve it.
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.True(status == 200, body.ToString());
        Assert.Equal("azure/1", headers.GetValues("x-relaykit-provider").Single() + "/" + headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal(3, relay.Fake.Requests.Count(r => r.Model == "gpt-5.5"));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the fake to receive the trial");
            await Task.Delay(10);
        }
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

    [Theory]
    [InlineData(1, "2")] // within MaxRetryAfter (5 s by default): waited for, then the key answers
    [InlineData(20, "1")] // past it: the caller gets the 429 at once
    public async Task A_429_is_waited_for_only_when_its_retry_after_is_within_MaxRetryAfter(int retryAfterSeconds, string attempts)
    {
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Resilience:MaxAttempts"] = "3");
        relay.Fake.Setup().ForModel("gpt-5.5").Times(1).WithFault(FakeFault.RateLimited(TimeSpan.FromSeconds(retryAfterSeconds)));
        var http = relay.App.CreateClient();

        var started = DateTime.UtcNow;
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        var took = DateTime.UtcNow - started;

        Assert.Equal(attempts, headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal(int.Parse(attempts, CultureInfo.InvariantCulture), relay.Fake.Requests.Count);
        if (attempts == "2")
        {
            Assert.True(status == 200, body.ToString());
            Assert.True(took >= TimeSpan.FromSeconds(retryAfterSeconds) - TimeSpan.FromMilliseconds(50), $"answered after {took}, before the key's retry-after");
        }
        else
        {
            Assert.Equal(429, status);
            Assert.True(took < TimeSpan.FromSeconds(10), "the relay waited for a retry-after past MaxRetryAfter");
        }
    }

    [Fact]
    public async Task A_retry_after_longer_than_MaxRetryAfter_is_not_waited_for()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Resilience:MaxAttempts"] = "3";
            s["ModelRelay:Resilience:MaxRetryAfter"] = "00:00:01";
        });
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(new FakeFault { Status = 503, RetryAfter = TimeSpan.FromSeconds(20) });
        var http = relay.App.CreateClient();

        var started = DateTime.UtcNow;
        var (status, _, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        // A 503 asking for 20 s: not waited for (1 s at most), so the one upstream is not tried again.
        Assert.Equal(503, status);
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
    [InlineData("ModelRelay:Resilience:BreakFor", "2.00:00:00", "BreakFor must be between 00:00:00.5 and 1.00:00:00")]
    public async Task A_broken_upstreams_setting_fails_at_start_naming_its_path(string key, string value, string message)
    {
        await using var relay = FakeRelay.Create(s =>
        {
            RelaySettings.PrimaryAndFallback(s);
            s[key] = value;
        });

        var error = Assert.Throws<OptionsValidationException>(() => relay.App.CreateClient());
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    /// <summary>gpt-5.5 on openai with azure as its fallback, breakers that open after 2 failures for 30 s, on a fake clock.</summary>
    private static FakeRelay BreakingRelay(FakeTimeProvider time) => FakeRelay.Create(s =>
    {
        RelaySettings.PrimaryAndFallback(s);
        s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
        s["ModelRelay:Resilience:BreakFor"] = "00:00:30";
    }, services: services => services.AddSingleton<TimeProvider>(time));

    private static string? Header(System.ClientModel.Primitives.PipelineResponse response, string name) =>
        response.Headers.TryGetValue(name, out var value) ? value : null;
}
