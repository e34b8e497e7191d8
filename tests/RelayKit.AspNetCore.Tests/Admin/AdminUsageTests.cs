using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using static RelayKit.AspNetCore.Tests.Admin.AdminCalls;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary><c>GET {prefix}/usage</c>: every key's usage for the operator, filtered, paged as JSON or exported as CSV.</summary>
public sealed class AdminUsageTests
{
    private const string Usage = AdminRelayApp.AdminPrefix + "/usage";

    [SkippableTheory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    [InlineData(AdminStorage.PostgreSql)]
    public async Task Usage_of_every_key_is_filtered_by_key_model_and_time_paged_and_exported_as_defused_csv(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage);
        using var admin = app.CreateAdminClient();
        using var http = app.CreateClient();
        var (a, aSecret) = await CreateAsync(app, admin, "ann");
        var (b, bSecret) = await CreateAsync(app, admin, "ben");

        // 2026-11-01 12:00 ann, 14:00 ben; 2026-11-02 14:00 ann on Claude, 14:01 ann on a model that is a formula.
        await app.CreateOpenAiClient(aSecret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        app.Time.Advance(TimeSpan.FromHours(2));
        await app.CreateOpenAiClient(bSecret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        app.Time.Advance(TimeSpan.FromDays(1));
        await app.CreateOpenAiClient(aSecret).GetChatClient("claude-code-opus-4.8").CompleteChatAsync([new UserChatMessage("hi")]);
        app.Time.Advance(TimeSpan.FromMinutes(1));
        var formula = await RawRelayCall.PostAsync(http, "/v1/chat/completions", """{"model":"=1+2,\"x\"","messages":[{"role":"user","content":"hi"}]}""", bearer: aSecret);
        Assert.Equal(404, formula.Status);
        await WaitForUsageAsync(app, 4);

        var all = await RecordsAsync(admin, "");
        var ben = await RecordsAsync(admin, $"?key={b}");
        var gpt = await RecordsAsync(admin, "?model=gpt-5.5");
        var afternoon = await RecordsAsync(admin, "?from=2026-11-01T13:00:00Z&to=2026-11-02T00:00:00Z");
        var secondDay = await RecordsAsync(admin, "?from=2026-11-02");
        var firstDay = await RecordsAsync(admin, "?to=2026-11-01");
        var errors = await RecordsAsync(admin, "?status=error");
        var answered = await RecordsAsync(admin, $"?status=ok&key={a}");
        var (_, errorSpend) = await GetJsonAsync(admin, AdminRelayApp.AdminPrefix + "/spend?status=error");
        var firstPage = await GetJsonAsync(admin, Usage + "?limit=3");
        var secondPage = await GetJsonAsync(admin, Usage + "?limit=3&offset=" + firstPage.Body.GetProperty("next_offset").GetInt32());

        Assert.Equal(["=1+2,\"x\"", "claude-code-opus-4.8", "gpt-5.5", "gpt-5.5"], all.Select(r => r.GetProperty("requested_model").GetString()));
        Assert.Equal([a, a, b, a], all.Select(r => r.GetProperty("key_name").GetString()));
        Assert.Equal([404, 200, 200, 200], all.Select(r => r.GetProperty("status_code").GetInt32()));
        Assert.All(all.Skip(1), r => Assert.True(r.GetProperty("cost").GetDecimal() > 0m));
        Assert.Equal([b], ben.Select(r => r.GetProperty("key_name").GetString()));
        Assert.Equal([b, a], gpt.Select(r => r.GetProperty("key_name").GetString()));
        Assert.Equal([b], afternoon.Select(r => r.GetProperty("key_name").GetString()));
        Assert.Equal(["=1+2,\"x\"", "claude-code-opus-4.8"], secondDay.Select(r => r.GetProperty("requested_model").GetString()));
        Assert.Equal([b, a], firstDay.Select(r => r.GetProperty("key_name").GetString()));
        Assert.Equal(["=1+2,\"x\""], errors.Select(r => r.GetProperty("requested_model").GetString()));
        Assert.Equal(["claude-code-opus-4.8", "gpt-5.5"], answered.Select(r => r.GetProperty("requested_model").GetString()));
        Assert.Equal((1, 1), (errorSpend.GetProperty("requests").GetInt64(), errorSpend.GetProperty("errors").GetInt64()));
        Assert.Equal(3, firstPage.Body.GetProperty("records").GetArrayLength());
        Assert.Equal([a], secondPage.Body.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("key_name").GetString()));
        Assert.False(secondPage.Body.TryGetProperty("next_offset", out _));

        // CSV by Accept and by ?format=csv: oldest first, the formula cell defused and quoted.
        using var request = new HttpRequestMessage(HttpMethod.Get, Usage);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var csvResponse = await admin.SendAsync(request);
        var csv = (await csvResponse.Content.ReadAsStringAsync()).Split("\r\n");
        var annCsv = (await admin.GetStringAsync($"{Usage}?format=csv&key={a}")).Split("\r\n");

        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("request_id,timestamp,key_name,requested_model,", csv[0], StringComparison.Ordinal);
        Assert.Equal(6, csv.Length); // header, four records, and the empty string after the last line end
        Assert.Equal("", csv[^1]);
        Assert.Contains($",{b},gpt-5.5,", csv[2], StringComparison.Ordinal);
        Assert.Contains($",{a},\"'=1+2,\"\"x\"\"\",", csv[4], StringComparison.Ordinal);
        Assert.Equal(5, annCsv.Length);
        Assert.DoesNotContain(annCsv, line => line.Contains(b, StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    [InlineData(AdminStorage.PostgreSql)]
    public async Task Each_records_upstream_attempts_are_listed_in_JSON_and_counted_in_CSV(AdminStorage storage)
    {
        // A created (metered) key: its records go through the ledger's usage outbox on their way to the usage store.
        await using var app = new AdminRelayApp(storage, RelaySettings.PrimaryAndFallback);
        app.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        app.Fake.Setup().ForModel("gpt55-prod").RespondWithText("From the fallback.");
        using var admin = app.CreateAdminClient();
        var (_, secret) = await CreateAsync(app, admin, "ann");

        await app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        app.Time.Advance(TimeSpan.FromMinutes(1));
        await app.CreateOpenAiClient(secret).GetChatClient("claude-code-opus-4.8").CompleteChatAsync([new UserChatMessage("hi")]);
        await WaitForUsageAsync(app, 2);

        var records = await RecordsAsync(admin, "");
        var fallback = records[1].GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(
            [("openai", "gpt-5.5", 503), ("azure", "gpt55-prod", 200)],
            fallback.Select(a => (a.GetProperty("provider").GetString(), a.GetProperty("upstream_model").GetString(), a.GetProperty("status_code").GetInt32())));
        Assert.All(fallback, a => Assert.True(a.GetProperty("latency_ms").GetDouble() >= 0));
        Assert.All(fallback, a => Assert.False(a.TryGetProperty("error_type", out _)));
        var plain = Assert.Single(records[0].GetProperty("attempts").EnumerateArray());
        Assert.Equal(("anthropic", "claude-opus-4-8", 200), (plain.GetProperty("provider").GetString(), plain.GetProperty("upstream_model").GetString(), plain.GetProperty("status_code").GetInt32()));

        var csv = (await admin.GetStringAsync(Usage + "?format=csv")).Split("\r\n");
        var column = Array.IndexOf(csv[0].Split(','), "attempts");
        Assert.True(column >= 0, csv[0]);
        Assert.Equal(["2", "1"], csv[1..3].Select(line => line.Split(',')[column]));
    }

    [Theory]
    [InlineData("?from=yesterday", "'from' and 'to'")]
    [InlineData("?to=2026-11-01T12:00:00", "'from' and 'to'")]
    [InlineData("?from=2026-11-02&to=2026-11-01", "'from' must be before 'to'")]
    [InlineData("?format=xml", "'format'")]
    [InlineData("?limit=0", "'limit'")]
    [InlineData("?offset=-1", "'offset'")]
    [InlineData("?user=ann", "Unknown query parameter 'user'")]
    [InlineData("?status=500", "'status'")]
    public async Task A_bad_usage_query_is_400_with_a_clear_message(string query, string message)
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();

        var answer = await GetJsonAsync(admin, Usage + query);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("invalid_request", answer.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(message, answer.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_usage_query_is_behind_the_operations_api_protection()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var anonymous = app.CreateClient();

        using var response = await anonymous.GetAsync(Usage + "?format=csv");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static async Task<(string Id, string Secret)> CreateAsync(AdminRelayApp app, HttpClient admin, string name)
    {
        var created = await app.CreateKeyAsync(admin, new { name, credit = 5m });
        return (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
    }

    private static async Task<List<JsonElement>> RecordsAsync(HttpClient admin, string query)
    {
        var answer = await GetJsonAsync(admin, Usage + query);
        Assert.True(answer.Status == HttpStatusCode.OK, answer.Body.ToString());
        return [.. answer.Body.GetProperty("records").EnumerateArray()];
    }
}
