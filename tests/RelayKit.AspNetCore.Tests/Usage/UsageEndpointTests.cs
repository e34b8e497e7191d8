using System.Text.Json;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary><c>GET /relay/usage</c>: the caller's own usage with the caller's own key, and the page for a browser.</summary>
public sealed class UsageEndpointTests
{
    [Fact]
    public async Task A_key_sees_its_own_requests_and_spend_by_model_and_day_and_no_one_elses()
    {
        await using var relay = UsageRelay.Create(s => s.With("ModelRelay:Models:gpt-4o:Provider", "openai"));
        using var http = relay.App.CreateClient();
        await Chat(http, RelaySettings.AliceKey, "gpt-4o");
        await Chat(http, RelaySettings.AliceKey, "gpt-5.5");
        await Chat(http, RelaySettings.BobKey, "gpt-5.5");
        var records = await relay.WaitForRecordsAsync(3);
        var aliceGpt4o = records.Single(r => r.KeyName == "alice" && r.RequestedModel == "gpt-4o");

        var (status, body, _) = await RawRelayCall.GetAsync(http, "relay/usage", bearer: RelaySettings.AliceKey);

        Assert.Equal(200, status);
        Assert.Equal("alice", body.GetProperty("key").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("balance").ValueKind);
        var recent = body.GetProperty("recent").EnumerateArray().ToList();
        Assert.Equal(2, recent.Count);
        var bobRequest = records.Single(r => r.KeyName == "bob").RequestId;
        Assert.DoesNotContain(bobRequest, recent.Select(r => r.GetProperty("request_id").GetString()));
        var byModel = body.GetProperty("by_model").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        Assert.Equal(["gpt-4o", "gpt-5.5"], byModel.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(aliceGpt4o.Cost, byModel["gpt-4o"].GetProperty("cost").GetDecimal());
        Assert.True(aliceGpt4o.Cost > 0, "gpt-4o has a built-in price, so the request cost something");
        Assert.Equal(aliceGpt4o.OutputTokens, byModel["gpt-4o"].GetProperty("output_tokens").GetInt64());
        var day = Assert.Single(body.GetProperty("by_day").EnumerateArray());
        Assert.Equal(2, day.GetProperty("requests").GetInt64());
        Assert.Equal(aliceGpt4o.Timestamp.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), day.GetProperty("day").GetString());

        var (bobStatus, bobBody, _) = await RawRelayCall.GetAsync(http, "relay/usage", apiKey: RelaySettings.BobKey);
        Assert.Equal(200, bobStatus);
        Assert.Equal("bob", bobBody.GetProperty("key").GetString());
        Assert.Single(bobBody.GetProperty("recent").EnumerateArray());
    }

    [Fact]
    public async Task Without_a_key_the_JSON_is_refused_in_the_OpenAI_format()
    {
        await using var relay = UsageRelay.Create();
        using var http = relay.App.CreateClient();

        var (missing, body, _) = await RawRelayCall.GetAsync(http, "relay/usage");
        var (wrong, _, _) = await RawRelayCall.GetAsync(http, "relay/usage", bearer: "rk-not-a-key");

        Assert.Equal(401, missing);
        Assert.Equal(401, wrong);
        Assert.Equal("invalid_api_key", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_browser_gets_the_page_without_a_key_and_the_page_holds_no_data()
    {
        await using var relay = UsageRelay.Create();
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "relay/usage");
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await http.SendAsync(request);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        var nonce = csp.Split("'nonce-")[1].Split('\'')[0];
        Assert.Contains($"<script nonce=\"{nonce}\">", html, StringComparison.Ordinal);
        Assert.Contains("sessionStorage", html, StringComparison.Ordinal);
        Assert.DoesNotContain("localStorage", html, StringComparison.Ordinal);
        Assert.DoesNotContain("innerHTML", html, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", html, StringComparison.Ordinal);
    }

    private static async Task Chat(HttpClient http, string key, string model)
    {
        var (status, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
            $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hello there"}]}""", bearer: key);
        Assert.Equal(200, status);
    }
}
