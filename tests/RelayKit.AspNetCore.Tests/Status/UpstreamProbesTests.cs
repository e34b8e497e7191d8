using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;
using RelayKit.AspNetCore.Usage.Telemetry;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Status;

/// <summary>
/// Health probes (<c>Providers:&lt;name&gt;:Probe</c>): a model list per provider key every interval, on the relay's
/// clock, shown on the status page, fed to the key's breakers, and never counted as caller traffic.
/// </summary>
public sealed class UpstreamProbesTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":50,"messages":[{"role":"user","content":"Hello"}]}""";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Probes_run_at_the_interval_and_not_before_once_per_key_with_the_keys_header()
    {
        await using var relay = Relay(s =>
        {
            s["ModelRelay:Providers:openai:ApiKey"] = "";
            s["ModelRelay:Providers:openai:ApiKeys:0"] = "sk-pool-a-SECRET";
            s["ModelRelay:Providers:openai:ApiKeys:1"] = "sk-pool-b-SECRET";
            s["ModelRelay:Providers:openai:Headers:OpenAI-Organization"] = "org-relay";
            s["ModelRelay:Providers:openai:Probe:Interval"] = "00:01:00";
        });
        using var http = relay.App.CreateClient();

        // Not at the start, nor before the interval: a probe then would be a second one below.
        _time.Advance(TimeSpan.FromSeconds(59));
        var first = await ProbeAfterAsync(relay, TimeSpan.FromSeconds(1));

        Assert.Equal(["openai#0", "openai#1"], first.Keys.Select(k => k.Key));
        Assert.All(first.Keys, k => Assert.Equal(200, k.Status));
        var sent = relay.Recorder.Exchanges;
        Assert.Equal(2, sent.Count);
        Assert.All(sent, e => Assert.Equal("http://fake-upstream/v1/models", e.Uri.AbsoluteUri));
        Assert.All(sent, e => Assert.Equal("org-relay", e.Headers["OpenAI-Organization"]));
        Assert.Equal(["Bearer sk-pool-a-SECRET", "Bearer sk-pool-b-SECRET"], sent.Select(e => e.Headers["authorization"]).Order(StringComparer.Ordinal));
        Assert.All(relay.Fake.Requests, r => Assert.Equal(FakeEndpoint.OpenAIModels, r.Endpoint));

        await ProbeAfterAsync(relay, TimeSpan.FromMinutes(1));
        Assert.Equal(4, relay.Recorder.Exchanges.Count);

        // The status page names the keys by place, never by value.
        var (_, body, _) = await RawRelayCall.GetAsync(http, "relay/status");
        Assert.DoesNotContain("sk-pool-", body.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(relay.App.Logs.GetSnapshot(), l => l.Message.Contains("sk-pool-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_probe_the_provider_answers_makes_an_idle_provider_healthy_on_the_status_page()
    {
        await using var relay = Relay(s => s["ModelRelay:Providers:openai:Probe:Interval"] = "00:00:30");
        using var http = relay.App.CreateClient();
        var (_, before, _) = await RawRelayCall.GetAsync(http, "relay/status");
        Assert.Equal("unknown", Upstream(before, "openai").GetProperty("health").GetString());

        await ProbeAfterAsync(relay, TimeSpan.FromSeconds(30));
        var (_, body, _) = await RawRelayCall.GetAsync(http, "relay/status");
        var html = await StatusPageAsync(http);

        var openai = Upstream(body, "openai");
        Assert.Equal("healthy", openai.GetProperty("health").GetString());
        Assert.True(openai.GetProperty("idle").GetBoolean()); // a probe is no traffic
        Assert.Equal(0, openai.GetProperty("last_hour").GetProperty("attempts").GetInt64());
        var probe = openai.GetProperty("last_probe");
        Assert.True(probe.GetProperty("ok").GetBoolean());
        Assert.Equal(_time.GetUtcNow(), probe.GetProperty("at").GetDateTimeOffset());
        Assert.True(probe.GetProperty("latency_ms").GetDouble() >= 0);
        var key = Assert.Single(probe.GetProperty("keys").EnumerateArray());
        Assert.Equal("openai", key.GetProperty("key").GetString());
        Assert.Equal(200, key.GetProperty("status").GetInt32());

        // Anthropic has no probe: still unknown, and no probe field.
        Assert.Equal("unknown", Upstream(body, "anthropic").GetProperty("health").GetString());
        Assert.False(Upstream(body, "anthropic").TryGetProperty("last_probe", out _));

        Assert.Contains("<td class=\"health healthy\">healthy (probed)</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"probe ok\">ok, ", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_probe_shows_failed_with_the_status_the_provider_gave()
    {
        await using var relay = Relay(s => s["ModelRelay:Providers:anthropic:Probe:Interval"] = "00:00:30");
        relay.Fake.Setup().ForEndpoint(FakeEndpoint.AnthropicModels).WithFault(FakeFault.ServerError(503));
        using var http = relay.App.CreateClient();

        await ProbeAfterAsync(relay, TimeSpan.FromSeconds(30), "anthropic");
        var (_, body, _) = await RawRelayCall.GetAsync(http, "relay/status");
        var html = await StatusPageAsync(http);

        // Anthropic's model list, with its own key header and version.
        var sent = Assert.Single(relay.Recorder.Exchanges);
        Assert.Equal("http://fake-upstream/v1/models", sent.Uri.AbsoluteUri);
        Assert.Equal(RelaySettings.AnthropicProviderKey, sent.Headers["x-api-key"]);
        Assert.Equal("2023-06-01", sent.Headers["anthropic-version"]);
        Assert.False(sent.Headers.ContainsKey("authorization"));

        var anthropic = Upstream(body, "anthropic");
        Assert.Equal("degraded", anthropic.GetProperty("health").GetString());
        var probe = anthropic.GetProperty("last_probe");
        Assert.False(probe.GetProperty("ok").GetBoolean());
        var key = Assert.Single(probe.GetProperty("keys").EnumerateArray());
        Assert.False(key.GetProperty("ok").GetBoolean());
        Assert.Equal(503, key.GetProperty("status").GetInt32());
        Assert.Contains("<td class=\"probe failed\">failed (anthropic: 503), ", html, StringComparison.Ordinal);
        Assert.Contains(relay.App.Logs.GetSnapshot(), l => l.Message == "Probe of upstream anthropic failed (503)");
    }

    [Fact]
    public async Task Failing_probes_open_the_keys_breakers_so_requests_go_straight_to_the_fallback_and_a_good_probe_is_the_trial()
    {
        await using var relay = Relay(s =>
        {
            RelaySettings.PrimaryAndFallback(s);
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Resilience:BreakFor"] = "00:00:30";
            s["ModelRelay:Providers:openai:Probe:Interval"] = "00:00:10";
        });
        relay.Fake.Setup().ForEndpoint(FakeEndpoint.OpenAIModels).WithFault(FakeFault.ServerError(503));
        using var http = relay.App.CreateClient();

        // Two failed probes in a row (t = 10 s, 20 s) open the breaker of every upstream of openai's key.
        await ProbeAfterAsync(relay, TimeSpan.FromSeconds(10));
        Assert.Equal("closed", await BreakerAsync(http, "gpt-5.5", "openai"));
        await ProbeAfterAsync(relay, TimeSpan.FromSeconds(10));
        Assert.Equal("open", await BreakerAsync(http, "gpt-5.5", "openai"));
        Assert.Equal("open", await BreakerAsync(http, "o*-mini", "openai"));
        Assert.Equal("closed", await BreakerAsync(http, "gpt-5.5", "azure"));
        Assert.Contains(relay.App.Logs.GetSnapshot(), l => l.Message.Contains("failed 2 attempts in a row", StringComparison.Ordinal));

        // The first request after goes straight to the fallback: openai is not tried.
        Assert.Equal("azure/1", await ServedByAsync(http));
        Assert.DoesNotContain(relay.Fake.Requests, r => r.Endpoint == FakeEndpoint.OpenAIChatCompletions && r.Model == "gpt-5.5");

        // openai is well again. While the breaker rests (until t = 50 s) a good probe does not close it; once the break
        // is over, the next probe is its trial and closes it.
        relay.Fake.Reset();
        await ProbeAfterAsync(relay, TimeSpan.FromSeconds(10));
        await ProbeAfterAsync(relay, TimeSpan.FromSeconds(10));
        Assert.Equal("open", await BreakerAsync(http, "gpt-5.5", "openai"));
        var trial = await ProbeAfterAsync(relay, TimeSpan.FromSeconds(10));
        Assert.True(trial.Ok);
        Assert.Equal("closed", await BreakerAsync(http, "gpt-5.5", "openai"));
        Assert.Contains(relay.App.Logs.GetSnapshot(), l => l.Message.Contains("back in rotation", StringComparison.Ordinal));
        Assert.Equal("openai/1", await ServedByAsync(http));

        // The route is shown as configured, with the breakers per key.
        var (_, body, _) = await RawRelayCall.GetAsync(http, "relay/status");
        var route = body.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("model").GetString() == "gpt-5.5");
        Assert.Equal(["default"], route.GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
        var upstreams = route.GetProperty("upstreams").EnumerateArray().ToList();
        Assert.Equal(["openai", "azure"], upstreams.Select(u => u.GetProperty("provider").GetString()));
        Assert.Equal(["gpt-5.5", "gpt55-prod"], upstreams.Select(u => u.GetProperty("upstream_model").GetString()));
        Assert.Equal([0, 1], upstreams.Select(u => u.GetProperty("priority").GetInt32()));
        Assert.Equal([1, 1], upstreams.Select(u => u.GetProperty("weight").GetInt32()));
        var html = await StatusPageAsync(http);
        Assert.Contains("<td class=\"breakers\"><span class=\"breaker closed\">azure: closed</span></td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Good_probes_between_failing_requests_do_not_keep_the_breaker_from_opening()
    {
        await using var relay = Relay(s =>
        {
            RelaySettings.PrimaryAndFallback(s);
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Resilience:BreakFor"] = "00:00:30";
            s["ModelRelay:Providers:openai:Probe:Interval"] = "00:00:05";
        });

        // openai lists its models fine, but its gpt-5.5 deployment fails every request.
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        using var http = relay.App.CreateClient();

        Assert.Equal("azure/2", await ServedByAsync(http));
        Assert.True((await ProbeAfterAsync(relay, TimeSpan.FromSeconds(5))).Ok);
        Assert.Equal("azure/2", await ServedByAsync(http));

        // Two failed requests within BreakFor open it although a good probe came between them (a list of models says
        // nothing of one model's deployment).
        Assert.Equal("open", await BreakerAsync(http, "gpt-5.5", "openai"));
        Assert.Equal("azure/1", await ServedByAsync(http));
    }

    [Fact]
    public async Task A_half_open_breaker_whose_trial_probe_fails_opens_again()
    {
        await using var relay = Relay(s =>
        {
            RelaySettings.PrimaryAndFallback(s);
            s["ModelRelay:Resilience:BreakAfterFailures"] = "2";
            s["ModelRelay:Resilience:BreakFor"] = "00:00:30";
            s["ModelRelay:Providers:openai:Probe:Interval"] = "00:00:10";
        });
        relay.Fake.Setup().ForEndpoint(FakeEndpoint.OpenAIModels).WithFault(FakeFault.ServerError(502));
        using var http = relay.App.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            await ProbeAfterAsync(relay, TimeSpan.FromSeconds(10)); // opens at 20 s; 30 s and 40 s rest
        }

        // The break ended at 50 s, and the trial probe failed: it rests again, and requests pass it over.
        Assert.Equal("open", await BreakerAsync(http, "gpt-5.5", "openai"));
        Assert.Equal("azure/1", await ServedByAsync(http));
    }

    [Fact]
    public async Task Probes_are_no_usage_no_metric_and_no_charge()
    {
        await using var relay = Relay(BudgetRelay.Settings(1m, s => s["ModelRelay:Providers:openai:Probe:Interval"] = "00:00:10"));
        var meters = relay.App.Services.GetRequiredService<IMeterFactory>();
        using var duration = new MetricCollector<double>(meters, RelayMetrics.MeterName, "gen_ai.client.operation.duration");
        using var http = relay.App.CreateClient();

        relay.Fake.Setup().ForEndpoint(FakeEndpoint.OpenAIModels).Times(1).WithFault(FakeFault.ServerError(500));
        Assert.False((await ProbeAfterAsync(relay, TimeSpan.FromSeconds(10))).Ok);
        Assert.True((await ProbeAfterAsync(relay, TimeSpan.FromSeconds(10))).Ok);
        Assert.Equal(2, relay.Recorder.Exchanges.Count);

        Assert.Empty(duration.GetMeasurementSnapshot());
        var (_, charged, held) = await relay.SumsAsync();
        Assert.Equal(0m, charged);
        Assert.Equal(0m, held);
        var (_, status, _) = await RawRelayCall.GetAsync(http, "relay/status");
        Assert.Equal(0, Upstream(status, "openai").GetProperty("last_day").GetProperty("attempts").GetInt64());

        // A request after them is the one record, charge and measurement.
        var (code, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.True(code == 200, body.ToString());
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("gpt-5.5", record.RequestedModel);
        Assert.Single(duration.GetMeasurementSnapshot());
        var usage = body.GetProperty("usage");
        var (_, chargedAfter, _) = await relay.SumsAsync();
        Assert.Equal(BudgetRelay.Cost(usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64()), chargedAfter);
        (_, status, _) = await RawRelayCall.GetAsync(http, "relay/status");
        Assert.Equal(1, Upstream(status, "openai").GetProperty("last_day").GetProperty("attempts").GetInt64());
    }

    [Theory]
    [InlineData("Interval", "00:00:00.500", "ModelRelay:Providers:openai:Probe:Interval must be at least 00:00:01")]
    [InlineData("Timeout", "00:02:00", "ModelRelay:Providers:openai:Probe:Timeout must be positive and at most the Interval")]
    [InlineData("Timeout", "00:00:00", "ModelRelay:Providers:openai:Probe:Timeout must be positive")]
    public async Task A_broken_probe_setting_fails_at_start_naming_its_path(string setting, string value, string message)
    {
        await using var relay = Relay(s =>
        {
            s["ModelRelay:Providers:openai:Probe:Interval"] = "00:01:00";
            s[$"ModelRelay:Providers:openai:Probe:{setting}"] = value;
        });

        var error = Assert.Throws<OptionsValidationException>(() => relay.App.CreateClient());
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }


    private FakeRelay Relay(Action<Dictionary<string, string?>> settings) =>
        FakeRelay.Create(settings, services: services => services.AddSingleton<TimeProvider>(_time));

    /// <summary>Moves the clock on and waits for the provider's probe that it brings (recorded and counted by the breakers).</summary>
    private async Task<UpstreamProbe> ProbeAfterAsync(FakeRelay relay, TimeSpan advance, string provider = "openai")
    {
        var next = relay.App.Services.GetRequiredService<UpstreamProbes>().NextProbeAsync(provider);
        _time.Advance(advance);

        // Bounded only so a broken schedule fails instead of hanging; nothing here depends on real time.
        return await next.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<string> ServedByAsync(HttpClient http)
    {
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.True(status == 200, body.ToString());
        return headers.GetValues("x-relaykit-provider").Single() + "/" + headers.GetValues("x-relaykit-attempts").Single();
    }

    /// <summary>The state of the (one-key) provider's breaker for the model, as the status JSON shows it.</summary>
    private static async Task<string?> BreakerAsync(HttpClient http, string model, string provider)
    {
        var (_, body, _) = await RawRelayCall.GetAsync(http, "relay/status");
        var route = body.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("model").GetString() == model);
        var upstream = route.GetProperty("upstreams").EnumerateArray().Single(u => u.GetProperty("provider").GetString() == provider);
        var breaker = Assert.Single(upstream.GetProperty("breakers").EnumerateArray());
        Assert.Equal(provider, breaker.GetProperty("key").GetString());
        return breaker.GetProperty("state").GetString();
    }

    private static JsonElement Upstream(JsonElement status, string name) =>
        status.GetProperty("upstreams").EnumerateArray().Single(u => u.GetProperty("name").GetString() == name);

    private static async Task<string> StatusPageAsync(HttpClient http)
    {
        using var page = new HttpRequestMessage(HttpMethod.Get, "relay/status");
        page.Headers.Accept.ParseAdd("text/html");
        using var response = await http.SendAsync(page);
        return await response.Content.ReadAsStringAsync();
    }
}
