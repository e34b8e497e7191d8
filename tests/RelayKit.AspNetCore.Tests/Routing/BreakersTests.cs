using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Routing;

/// <summary>
/// Breakers beyond the basics in <see cref="UpstreamsTests"/>: one per model sent for a wildcard entry, Polly's own
/// telemetry, rests from other instances on the status page, a refused key of a pool, and the <c>retry-after</c> of a
/// request every upstream refused. All on a fake clock.
/// </summary>
public sealed class BreakersTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":50,"messages":[{"role":"user","content":"Hello"}]}""";

    private static string Chat(string model) => ChatBody.Replace("gpt-5.5", model, StringComparison.Ordinal);

    private static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task A_failing_model_of_a_wildcard_entry_does_not_rest_the_other_models_it_matches()
    {
        var time = Clock();
        var share = new CapturingShare();
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Resilience:BreakAfterFailures"] = "2", services: services =>
        {
            services.AddSingleton<TimeProvider>(time);
            services.AddSingleton<IUpstreamRestShare>(share);
        });
        relay.Fake.Setup().ForModel("o1-mini").WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();

        // o*-mini is one upstream (openai, the caller's model name sent as it is): o1-mini fails twice and its breaker opens.
        for (var i = 0; i < 2; i++)
        {
            var (failed, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Chat("o1-mini"), bearer: RelaySettings.AliceKey);
            Assert.Equal(503, failed);
        }

        var (resting, restingBody, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Chat("o1-mini"), bearer: RelaySettings.AliceKey);
        Assert.Equal(503, resting);
        Assert.Equal("upstream_unavailable", restingBody.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, relay.Fake.Requests.Count);

        // o3-mini goes to the same provider key, but its breaker is its own: it is served.
        var (served, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Chat("o3-mini"), bearer: RelaySettings.AliceKey);
        Assert.True(served == 200, body.ToString());
        Assert.Equal("o3-mini", headers.GetValues("x-relaykit-model").Single());
        Assert.Equal("o3-mini", relay.Fake.Requests[^1].Model);

        // The open breaker was shared under the model's own name, and the status page names the model that rests.
        Assert.Contains(share.Published, r => r.Kind == UpstreamRest.Breaker && r.Name == "o*-mini|openai|o1-mini");
        var breakers = await RouteBreakersAsync(http, "o*-mini", "openai");
        Assert.Equal(["openai: closed", "openai (o1-mini): open"], breakers);
        Assert.Contains("<span class=\"breaker open\">openai (o1-mini): open</span>", await StatusPageAsync(http), StringComparison.Ordinal);

        // A rest another instance shares for one model rests that model only; one naming a model the entry does not serve
        // is dropped (no breaker is made for it).
        share.Received!(new UpstreamRest(UpstreamRest.Breaker, "o*-mini|openai|o5-mini", time.GetUtcNow().AddSeconds(20)));
        share.Received!(new UpstreamRest(UpstreamRest.Breaker, "o*-mini|openai|gpt-x", time.GetUtcNow().AddSeconds(20)));
        var sentBefore = relay.Fake.Requests.Count;
        var (rested, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Chat("o5-mini"), bearer: RelaySettings.AliceKey);
        Assert.Equal(503, rested);
        Assert.Equal(sentBefore, relay.Fake.Requests.Count);
        var (other, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Chat("o3-mini"), bearer: RelaySettings.AliceKey);
        Assert.Equal(200, other);
        var upstream = Upstream(relay, "o*-mini");
        Assert.Null(upstream.ExistingBreaker(0, "gpt-x"));
        Assert.Equal(["o1-mini", "o3-mini", "o5-mini"], upstream.ExistingBreakers(0).Select(b => b.Model));
    }

    [Fact]
    public async Task A_model_breaker_of_a_wildcard_entry_puts_no_caller_chosen_name_in_the_public_incident_history()
    {
        var time = Clock();
        await using var relay = FakeRelay.Create(s => s["ModelRelay:Resilience:BreakAfterFailures"] = "2", services: services =>
            services.AddSingleton<TimeProvider>(time));

        // A caller picks the name (any name o*-mini matches): the upstream failing it opens that model's breaker.
        const string Chosen = "o-free-credits-at-evil-example-mini";
        relay.Fake.Setup().ForModel(Chosen).WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(503, (await RawRelayCall.PostAsync(http, "/v1/chat/completions", Chat(Chosen), bearer: RelaySettings.AliceKey)).Status);
        }

        Assert.Equal("open", Upstream(relay, "o*-mini").ExistingBreaker(0, Chosen)!.StateName);

        // The incident the anonymous status page lists is the provider's, named by the entry's pattern, not by the caller's text.
        var (_, incidents) = relay.App.Services.GetRequiredService<RelayKit.AspNetCore.Status.History.StatusHistory>().Take();
        // (Take gives a lasting incident twice: as started, and as seen now.)
        var breakerIncidents = incidents.Where(i => i.Kind == "breaker").ToList();
        Assert.Single(breakerIncidents.Select(i => i.Id).Distinct());
        Assert.All(breakerIncidents, incident =>
        {
            Assert.Equal("openai", incident.Provider);
            Assert.Equal("", incident.Model);
            Assert.DoesNotContain("evil", incident.Title, StringComparison.Ordinal);
            Assert.Contains("o*-mini", incident.Title, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task An_opened_breaker_reports_through_Pollys_telemetry_naming_the_key_by_its_place()
    {
        var time = Clock();
        using var events = new MetricCollector<int>((object?)null, "Polly", "resilience.polly.strategy.events");
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Models:gpt-telemetry:Provider"] = "openai";
        }, services: services => services.AddSingleton<TimeProvider>(time));
        relay.Fake.Setup().ForModel("gpt-telemetry").WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();
        for (var i = 0; i < 2; i++)
        {
            var (failed, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", Chat("gpt-telemetry"), bearer: RelaySettings.AliceKey);
            Assert.Equal(503, failed);
        }

        // Polly's own event counter: one OnCircuitOpened of this breaker, named by the entry, the key's place and the model.
        var mine = events.GetMeasurementSnapshot()
            .Where(m => m.Tags.TryGetValue("pipeline.instance", out var instance) && (string?)instance == "gpt-telemetry|openai|*")
            .ToList();
        var opened = Assert.Single(mine, m => (string?)m.Tags["event.name"] == "OnCircuitOpened");
        Assert.Equal(UpstreamSelection.PipelineName, opened.Tags["pipeline.name"]);
        Assert.Equal("Error", opened.Tags["event.severity"]);
        Assert.All(events.GetMeasurementSnapshot(), m => Assert.DoesNotContain(m.Tags, t => t.Value?.ToString()?.Contains("SECRET", StringComparison.Ordinal) == true));

        // Polly's log of the event, through the app's logger factory, with the attempt's status as its result.
        var logs = relay.App.Logs.GetSnapshot();
        Assert.Contains(logs, l => l.Category == "Polly"
            && l.Message.Contains("EventName: 'OnCircuitOpened'", StringComparison.Ordinal)
            && l.Message.Contains("Source: 'RelayKit.UpstreamBreaker/gpt-telemetry|openai|*/", StringComparison.Ordinal)
            && l.Message.Contains("Result: '503'", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Message.Contains("SECRET", StringComparison.Ordinal)
            || l.StructuredState?.Any(p => p.Value?.Contains("SECRET", StringComparison.Ordinal) == true) == true);
    }

    [Fact]
    public async Task A_key_pool_keys_breakers_report_through_Polly_without_the_keys()
    {
        using var events = new MetricCollector<int>((object?)null, "Polly", "resilience.polly.strategy.events");
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Models:gpt-pooled:Provider"] = "openai";
            s["ModelRelay:Providers:openai:ApiKey"] = "";
            s["ModelRelay:Providers:openai:ApiKeys:0"] = "sk-pool-a-SECRET";
            s["ModelRelay:Providers:openai:ApiKeys:1"] = "sk-pool-b-SECRET";
        }, services: services => services.AddSingleton<TimeProvider>(Clock()));
        relay.Fake.Setup().ForModel("gpt-pooled").WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();
        for (var i = 0; i < 4; i++)
        {
            await RawRelayCall.PostAsync(http, "/v1/chat/completions", Chat("gpt-pooled"), bearer: RelaySettings.AliceKey);
        }

        // Both keys' breakers opened; each is told apart by its place in the pool, and no key's value is anywhere.
        var instances = events.GetMeasurementSnapshot()
            .Where(m => (string?)m.Tags["event.name"] == "OnCircuitOpened")
            .Select(m => m.Tags.GetValueOrDefault("pipeline.instance") as string ?? "")
            .Where(i => i.StartsWith("gpt-pooled|", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        Assert.Equal(["gpt-pooled|openai#0|*", "gpt-pooled|openai#1|*"], instances);
        Assert.All(events.GetMeasurementSnapshot(), m => Assert.DoesNotContain(m.Tags, t => t.Value?.ToString()?.Contains("sk-pool", StringComparison.Ordinal) == true));
        Assert.DoesNotContain(relay.App.Logs.GetSnapshot(), l => l.Message.Contains("sk-pool", StringComparison.Ordinal)
            || l.StructuredState?.Any(p => p.Value?.Contains("sk-pool", StringComparison.Ordinal) == true) == true);
    }

    [Fact]
    public async Task The_status_page_shows_an_upstream_key_another_instance_rests_as_open()
    {
        var time = Clock();
        var share = new CapturingShare();
        await using var relay = FakeRelay.Create(RelaySettings.PrimaryAndFallback, services: services =>
        {
            services.AddSingleton<TimeProvider>(time);
            services.AddSingleton<IUpstreamRestShare>(share);
        });
        var http = relay.App.CreateClient();
        var (warm, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, warm);
        Assert.Equal(["openai: closed"], await RouteBreakersAsync(http, "gpt-5.5", "openai"));

        // Another instance's breaker of openai opened: this one has not failed there, but passes it over, and says so.
        share.Received!(new UpstreamRest(UpstreamRest.Breaker, "gpt-5.5|openai|*", time.GetUtcNow().AddSeconds(20)));
        Assert.Equal(["openai: open"], await RouteBreakersAsync(http, "gpt-5.5", "openai"));
        Assert.Contains("<span class=\"breaker open\">openai: open</span>", await StatusPageAsync(http), StringComparison.Ordinal);
        var (_, _, servedBy) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal("azure", servedBy.GetValues("x-relaykit-provider").Single());

        // The rest over, it is closed again.
        time.Advance(TimeSpan.FromSeconds(21));
        Assert.Equal(["openai: closed"], await RouteBreakersAsync(http, "gpt-5.5", "openai"));
    }

    [Fact]
    public async Task A_key_whose_breaker_refuses_is_passed_over_alone_and_another_key_of_the_pool_serves()
    {
        var time = Clock();
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Providers:openai:ApiKey"] = "";
            s["ModelRelay:Providers:openai:ApiKeys:0"] = "sk-pool-a-SECRET";
            s["ModelRelay:Providers:openai:ApiKeys:1"] = "sk-pool-b-SECRET";
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
        }, services: services => services.AddSingleton<TimeProvider>(time));
        var http = relay.App.CreateClient();

        // Two requests in flight on key b (held here) make key a the one with fewer, so it is chosen whenever it is usable.
        var provider = Upstream(relay, "gpt-5.5").Provider;
        using var busy = provider.Enter(1);
        using var busier = provider.Enter(1);

        // Key a fails twice: its breaker opens.
        relay.Fake.Setup().ForModel("gpt-5.5").Times(2).WithFault(FakeFault.ServerError(503));
        for (var i = 0; i < 2; i++)
        {
            var (failed, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.Equal(503, failed);
        }

        Assert.Equal(2, SentWith("a"));

        // The break ends; the trial goes to key a (still the one with fewer in flight) and is slow.
        time.Advance(TimeSpan.FromSeconds(31));
        relay.Fake.Setup().ForModel("gpt-5.5").Times(1).WithFault(FakeFault.Latency(TimeSpan.FromSeconds(3)));
        var trial = RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        await WaitForAsync(() => relay.Fake.Requests.Count == 3);
        Assert.Equal(3, SentWith("a"));

        // The next request is chosen for key a again (one in flight against b's two); its breaker refuses it, as the trial
        // is under way, and key b serves it in the same round: one attempt.
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.True(status == 200, body.ToString());
        Assert.Equal("1", headers.GetValues("x-relaykit-attempts").Single());
        Assert.Equal(1, SentWith("b"));
        Assert.False(trial.IsCompleted, "the request waited for the trial");
        Assert.Equal(200, (await trial).Status);

        int SentWith(string key) => relay.Recorder.Exchanges.Count(e => e.Headers["authorization"] == $"Bearer sk-pool-{key}-SECRET");
    }

    [Fact]
    public async Task A_request_that_meets_a_trial_under_way_is_told_to_come_back_in_a_second_not_after_the_whole_break()
    {
        var time = Clock();
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Resilience:BreakFor"] = "00:00:30";
        }, services: services => services.AddSingleton<TimeProvider>(time));
        relay.Fake.Setup().ForModel("gpt-5.5").Times(2).WithFault(FakeFault.ServerError(500));
        var http = relay.App.CreateClient();
        for (var i = 0; i < 2; i++)
        {
            await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        }

        // While the break lasts the caller is told its rest: 20 s of the 30 s are left.
        time.Advance(TimeSpan.FromSeconds(10));
        var (open, _, openHeaders) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(503, open);
        Assert.Equal("20", openHeaders.GetValues("retry-after").Single());

        // The break ends; the trial is slow, and a request that meets it is told a second.
        time.Advance(TimeSpan.FromSeconds(21));
        relay.Fake.Setup().ForModel("gpt-5.5").Times(1).WithFault(FakeFault.Latency(TimeSpan.FromSeconds(3)));
        var trial = RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        await WaitForAsync(() => relay.Fake.Requests.Count == 3);
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.Equal(503, status);
        Assert.Equal("upstream_unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("1", headers.GetValues("retry-after").Single());
        Assert.Equal("1000", headers.GetValues("retry-after-ms").Single());
        Assert.Equal(200, (await trial).Status);
    }

    private static ModelUpstream Upstream(FakeRelay relay, string entry) =>
        relay.App.Services.GetRequiredService<ModelRouter>().Table.Upstreams.First(u => u.EntryName == entry);

    /// <summary>The breakers of one upstream of a route on the status page (JSON), as "key: state" or "key (model): state".</summary>
    private static async Task<string[]> RouteBreakersAsync(HttpClient http, string model, string provider)
    {
        var (_, body, _) = await RawRelayCall.GetAsync(http, "relay/status");
        var route = body.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("model").GetString() == model);
        var upstream = route.GetProperty("upstreams").EnumerateArray().Single(u => u.GetProperty("provider").GetString() == provider);
        return [.. upstream.GetProperty("breakers").EnumerateArray().Select(b =>
            b.GetProperty("key").GetString()
            + (b.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? $" ({m.GetString()})" : "")
            + ": " + b.GetProperty("state").GetString())];
    }

    private static async Task<string> StatusPageAsync(HttpClient http)
    {
        using var page = new HttpRequestMessage(HttpMethod.Get, "relay/status");
        page.Headers.Accept.ParseAdd("text/html");
        using var response = await http.SendAsync(page);
        return await response.Content.ReadAsStringAsync();
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

    /// <summary>Stands in for Redis: keeps what this instance publishes and lets the test deliver another instance's rests.</summary>
    private sealed class CapturingShare : IUpstreamRestShare
    {
        private readonly List<UpstreamRest> _published = [];

        public Action<UpstreamRest>? Received { get; private set; }

        public IReadOnlyList<UpstreamRest> Published
        {
            get
            {
                lock (_published)
                {
                    return [.. _published];
                }
            }
        }

        public void Publish(UpstreamRest rest)
        {
            lock (_published)
            {
                _published.Add(rest);
            }
        }

        public void Subscribe(Action<UpstreamRest> received) => Received = received;
    }
}
