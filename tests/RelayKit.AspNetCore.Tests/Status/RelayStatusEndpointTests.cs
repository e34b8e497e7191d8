using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;

namespace RelayKit.AspNetCore.Tests.Status;

/// <summary><c>GET /relay/status</c>: upstream health from real traffic and the model list, JSON or HTML, without secrets.</summary>
public sealed class RelayStatusEndpointTests
{
    [Fact]
    public async Task The_JSON_shows_each_upstream_from_real_traffic_and_the_models_with_prices()
    {
        await using var relay = UsageRelay.Create(s => s.With("ModelRelay:Models:gpt-4o:Provider", "openai")
            .With("ModelRelay:Models:gpt-5.5:Price:Input", "1.25").With("ModelRelay:Models:gpt-5.5:Price:Output", "10"));
        using var http = relay.App.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            var (code, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
                """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);
            Assert.Equal(200, code);
        }

        var (status, body, headers) = await RawRelayCall.GetAsync(http, "relay/status");

        Assert.Equal(200, status);
        Assert.Equal("no-store", headers.CacheControl?.ToString());
        var upstreams = body.GetProperty("upstreams").EnumerateArray().ToDictionary(u => u.GetProperty("name").GetString()!);
        Assert.Equal(["anthropic", "openai"], upstreams.Keys.Order(StringComparer.Ordinal));
        var openai = upstreams["openai"];
        Assert.Equal("healthy", openai.GetProperty("health").GetString());
        Assert.Equal(3, openai.GetProperty("last_hour").GetProperty("attempts").GetInt64());
        Assert.Equal(0, openai.GetProperty("last_hour").GetProperty("error_rate").GetDouble());
        Assert.Equal(1.0, openai.GetProperty("last_day").GetProperty("uptime").GetDouble());
        Assert.True(openai.GetProperty("last_hour").GetProperty("latency_ms").GetProperty("p99").GetDouble() >= 0);
        Assert.Equal("unknown", upstreams["anthropic"].GetProperty("health").GetString());
        // Fields without a value are left out, not null.
        Assert.False(upstreams["anthropic"].GetProperty("last_hour").GetProperty("latency_ms").TryGetProperty("p50", out _));
        Assert.False(upstreams["anthropic"].TryGetProperty("last_success", out _));
        Assert.False(openai.TryGetProperty("last_failure", out _));
        Assert.DoesNotContain("null", body.GetRawText(), StringComparison.Ordinal);

        var models = body.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Contains("gpt-5.5", models.Keys);
        Assert.Equal("claude-opus-4-8", models["claude-code-opus-4.8"].GetProperty("upstream_model").GetString());
        Assert.Equal(2.50m, models["gpt-4o"].GetProperty("price").GetProperty("input").GetDecimal());
        Assert.Equal(10.00m, models["gpt-4o"].GetProperty("price").GetProperty("output").GetDecimal());

        // A configured price is the one shown, as in the model list and as charged; and its alias is charged the same.
        Assert.Equal(1.25m, models["gpt-5.5"].GetProperty("price").GetProperty("input").GetDecimal());
        Assert.Equal(1.25m, models["default"].GetProperty("price").GetProperty("input").GetDecimal());

        var text = body.GetRawText();
        Assert.DoesNotContain("alice", text, StringComparison.Ordinal);
        Assert.DoesNotContain("fake-upstream", text, StringComparison.Ordinal);
        Assert.DoesNotContain(RelaySettings.OpenAiProviderKey, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_idle_for_the_recent_window_reads_up_and_idle_not_unknown()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        await using var relay = FakeRelay.Create(services: s => s.AddSingleton<TimeProvider>(time));
        using var http = relay.App.CreateClient();
        var (code, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);
        Assert.Equal(200, code);

        time.Advance(TimeSpan.FromMinutes(6));
        var (_, body, _) = await RawRelayCall.GetAsync(http, "relay/status");
        using var page = new HttpRequestMessage(HttpMethod.Get, "relay/status");
        page.Headers.Accept.ParseAdd("text/html");
        using var pageResponse = await http.SendAsync(page);
        var html = await pageResponse.Content.ReadAsStringAsync();

        var upstreams = body.GetProperty("upstreams").EnumerateArray().ToDictionary(u => u.GetProperty("name").GetString()!);
        Assert.Equal("idle", upstreams["openai"].GetProperty("health").GetString());
        Assert.Equal(1, upstreams["openai"].GetProperty("last_hour").GetProperty("attempts").GetInt64());
        Assert.Equal("unknown", upstreams["anthropic"].GetProperty("health").GetString());
        Assert.Contains("<td class=\"health idle\">up (idle)</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_browser_gets_an_escaped_page_under_a_content_security_policy()
    {
        await using var relay = UsageRelay.Create(s => s.With("ModelRelay:Models:<img src=x onerror=alert(1)>:Provider", "openai"));
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "relay/status");
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");

        using var response = await http.SendAsync(request);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("<tr class=\"upstream\" data-name=\"openai\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_status_needs_no_key_and_JSON_is_the_default()
    {
        await using var relay = UsageRelay.Create();
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "relay/status");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("*/*"));

        using var response = await http.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }
}
