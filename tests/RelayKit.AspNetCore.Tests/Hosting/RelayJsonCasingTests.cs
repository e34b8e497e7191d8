using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using RelayKit.AspNetCore.Tests.Admin;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>Every JSON the relay writes itself names its fields one way: snake_case, as the providers' APIs do.</summary>
public sealed partial class RelayJsonCasingTests
{
    [Fact]
    public async Task Every_relay_owned_json_answer_uses_snake_case_names()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory, s => s["ModelRelay:Keys:0:Budget"] = "5");
        using var admin = app.CreateAdminClient();
        using var http = app.CreateClient();
        const string chat = """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""";
        var call = await RawRelayCall.PostAsync(http, "/v1/chat/completions", chat, bearer: RelaySettings.AliceKey);
        var requestId = call.Headers.GetValues("x-request-id").Single();
        await AdminCalls.WaitForUsageAsync(app, 1);
        var created = await app.CreateKeyAsync(admin, new { name = "casing", credit = 1m });
        var id = created.GetProperty("id").GetString()!;
        var keys = AdminCalls.KeysPath;

        var answers = new Dictionary<string, JsonElement>
        {
            ["status"] = (await RawRelayCall.GetAsync(http, "/relay/status")).Body,
            ["usage"] = (await RawRelayCall.GetAsync(http, "/relay/usage", bearer: RelaySettings.AliceKey)).Body,
            ["balance"] = (await RawRelayCall.GetAsync(http, "/v1/relay/balance", bearer: RelaySettings.AliceKey)).Body,
            ["cost"] = (await RawRelayCall.GetAsync(http, $"/v1/relay/requests/{requestId}/cost", bearer: RelaySettings.AliceKey)).Body,
            ["estimate"] = (await RawRelayCall.PostAsync(http, "/v1/relay/estimate", chat, bearer: RelaySettings.AliceKey)).Body,
            ["models"] = (await RawRelayCall.GetAsync(http, "/v1/models", bearer: RelaySettings.AliceKey)).Body,
            ["unknown key"] = (await RawRelayCall.GetAsync(http, "/relay/usage", bearer: "rk-nobody")).Body,
            ["unknown model"] = (await RawRelayCall.PostAsync(http, "/v1/chat/completions", """{"model":"nope","messages":[]}""", bearer: RelaySettings.AliceKey)).Body,
            ["anthropic error"] = (await RawRelayCall.PostAsync(http, "/v1/messages", "{", apiKey: RelaySettings.AliceKey, anthropicVersion: "2023-06-01")).Body,
            ["admin create"] = created,
            ["admin list"] = (await AdminCalls.GetJsonAsync(admin, keys)).Body,
            ["admin read"] = (await AdminCalls.GetJsonAsync(admin, $"{keys}/{id}")).Body,
            ["admin configured"] = (await AdminCalls.GetJsonAsync(admin, $"{keys}/alice")).Body,
            ["admin balance"] = (await AdminCalls.GetJsonAsync(admin, $"{keys}/{id}/balance")).Body,
            ["admin top-up"] = (await AdminCalls.PostJsonAsync(admin, $"{keys}/{id}/topups", new { amount = 1m, reference = "casing_1" })).Body,
            ["admin ledger"] = (await AdminCalls.GetJsonAsync(admin, $"{keys}/{id}/ledger")).Body,
            ["admin usage"] = (await AdminCalls.GetJsonAsync(admin, AdminRelayApp.AdminPrefix + "/usage")).Body,
            ["admin refund"] = (await AdminCalls.PostJsonAsync(admin, $"{keys}/{id}/refund", new { })).Body,
            ["admin revoke"] = (await AdminCalls.PostJsonAsync(admin, $"{keys}/{id}/revoke", new { })).Body,
            ["admin error"] = (await AdminCalls.GetJsonAsync(admin, $"{keys}/key_nobody")).Body,
        };

        foreach (var (name, body) in answers)
        {
            Assert.True(body.ValueKind == JsonValueKind.Object, $"{name}: not a JSON object");
            var names = new List<string>();
            Collect(body, names);
            Assert.True(names.Count > 1, $"{name}: {body}");
            Assert.All(names, property => Assert.Matches(SnakeCase(), property));
        }

        // The names the pages' scripts read are the ones written.
        Assert.True(answers["usage"].GetProperty("balance").TryGetProperty("free_credit", out _));
        Assert.True(answers["status"].GetProperty("upstreams")[0].TryGetProperty("last_hour", out _));
    }

    private static void Collect(JsonElement element, List<string> names)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    names.Add(property.Name);
                    Collect(property.Value, names);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, names);
                }

                break;
        }
    }

    [GeneratedRegex("^[a-z0-9]+(_[a-z0-9]+)*$")]
    private static partial Regex SnakeCase();
}
