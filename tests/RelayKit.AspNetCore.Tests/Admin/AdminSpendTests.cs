using System.Net;
using System.Text.Json;
using OpenAI.Chat;
using static RelayKit.AspNetCore.Tests.Admin.AdminCalls;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>
/// What the operator console reads beside the records: <c>GET {prefix}/spend</c> (cost by key, model and day) and the
/// key list with each key's balance, reserved and spend, checked against the usage records the API itself answers.
/// </summary>
public sealed class AdminSpendTests
{
    private const string Spend = AdminRelayApp.AdminPrefix + "/spend";

    [SkippableTheory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    [InlineData(AdminStorage.PostgreSql)]
    public async Task Spend_is_totalled_by_key_model_and_day_with_empty_days_filled_and_follows_the_filters(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage);
        using var admin = app.CreateAdminClient();
        var (ann, annSecret) = await CreateAsync(app, admin, "ann");
        var (ben, benSecret) = await CreateAsync(app, admin, "ben");

        // 2026-11-01: ann and ben on gpt-5.5; nothing on 11-02; 2026-11-03: ann on Claude, twice.
        await app.CreateOpenAiClient(annSecret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        await app.CreateOpenAiClient(benSecret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hello there")]);
        app.Time.Advance(TimeSpan.FromDays(2));
        for (var i = 0; i < 2; i++)
        {
            await app.CreateOpenAiClient(annSecret).GetChatClient("claude-code-opus-4.8").CompleteChatAsync([new UserChatMessage("hi " + i)]);
        }

        await WaitForUsageAsync(app, 4);
        var records = (await GetJsonAsync(admin, AdminRelayApp.AdminPrefix + "/usage")).Body.GetProperty("records").EnumerateArray().ToList();
        decimal CostOf(Func<JsonElement, bool> which) => records.Where(which).Sum(r => r.GetProperty("cost").GetDecimal());
        var annCost = CostOf(r => r.GetProperty("key_name").GetString() == ann);
        var benCost = CostOf(r => r.GetProperty("key_name").GetString() == ben);
        var claudeCost = CostOf(r => r.GetProperty("requested_model").GetString() == "claude-code-opus-4.8");
        var gptCost = CostOf(r => r.GetProperty("requested_model").GetString() == "gpt-5.5");
        Assert.True(annCost > 0 && benCost > 0 && claudeCost > 0 && gptCost > 0);

        var (status, all) = await GetJsonAsync(admin, Spend);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(4, all.GetProperty("requests").GetInt64());
        Assert.Equal(0, all.GetProperty("errors").GetInt64());
        Assert.Equal(annCost + benCost, all.GetProperty("cost").GetDecimal());
        var byKey = Groups(all, "by_key");
        Assert.Equal(annCost > benCost ? [ann, ben] : [ben, ann], byKey.Select(g => g.Name));
        Assert.Equal(annCost, byKey.Single(g => g.Name == ann).Cost);
        Assert.Equal(3, byKey.Single(g => g.Name == ann).Requests);
        Assert.Equal(benCost, byKey.Single(g => g.Name == ben).Cost);
        var byModel = Groups(all, "by_model");
        Assert.Equal(claudeCost, byModel.Single(g => g.Name == "claude-code-opus-4.8").Cost);
        Assert.Equal(gptCost, byModel.Single(g => g.Name == "gpt-5.5").Cost);
        Assert.Equal(2, byModel.Single(g => g.Name == "gpt-5.5").Requests);
        var byDay = Groups(all, "by_day");
        Assert.Equal(["2026-11-01", "2026-11-02", "2026-11-03"], byDay.Select(g => g.Name));
        Assert.Equal([gptCost, 0m, claudeCost], byDay.Select(g => g.Cost));
        Assert.Equal([2L, 0L, 2L], byDay.Select(g => g.Requests));

        // The filters are those of GET usage.
        var benOnly = (await GetJsonAsync(admin, $"{Spend}?key={ben}")).Body;
        Assert.Equal(benCost, benOnly.GetProperty("cost").GetDecimal());
        Assert.Equal([ben], Groups(benOnly, "by_key").Select(g => g.Name));
        Assert.Equal(["2026-11-01"], Groups(benOnly, "by_day").Select(g => g.Name));
        var lastDay = (await GetJsonAsync(admin, $"{Spend}?from=2026-11-02&to=2026-11-03")).Body;
        Assert.Equal(claudeCost, lastDay.GetProperty("cost").GetDecimal());
        Assert.Equal([ann], Groups(lastDay, "by_key").Select(g => g.Name));
        var gptOnly = (await GetJsonAsync(admin, $"{Spend}?model=gpt-5.5&to=2026-11-01")).Body;
        Assert.Equal(gptCost, gptOnly.GetProperty("cost").GetDecimal());
        var none = (await GetJsonAsync(admin, $"{Spend}?from=2026-12-01")).Body;
        Assert.Equal(0, none.GetProperty("requests").GetInt64());
        Assert.Equal(0, none.GetProperty("by_day").GetArrayLength());

        // The key list carries each key's money and spend: a 5 USD credit less what its records cost, exactly.
        var keys = (await GetJsonAsync(admin, AdminCalls.KeysPath)).Body.GetProperty("keys").EnumerateArray().ToList();
        foreach (var (id, cost) in new[] { (ann, annCost), (ben, benCost) })
        {
            var key = keys.Single(k => k.GetProperty("id").GetString() == id);
            Assert.Equal(cost, key.GetProperty("spent").GetDecimal());
            Assert.Equal(5m - cost, key.GetProperty("balance").GetProperty("balance").GetDecimal());
            Assert.Equal(0m, key.GetProperty("balance").GetProperty("reserved").GetDecimal());
            Assert.Equal(cost, (await GetJsonAsync(admin, $"{AdminCalls.KeysPath}/{id}")).Body.GetProperty("spent").GetDecimal());
        }
    }

    [Fact]
    public async Task A_bad_spend_query_is_400_and_without_the_admin_policy_it_is_refused()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        using var anonymous = app.CreateClient();

        var unknown = await GetJsonAsync(admin, Spend + "?limit=3");
        var badDate = await GetJsonAsync(admin, Spend + "?from=yesterday");
        var backwards = await GetJsonAsync(admin, Spend + "?from=2026-11-02&to=2026-11-01");
        using var refused = await anonymous.GetAsync(Spend);

        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Contains("'limit'", unknown.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badDate.Status);
        Assert.Equal("invalid_request", badDate.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, backwards.Status);
        Assert.True(refused.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, refused.StatusCode.ToString());
    }

    private static async Task<(string Id, string Secret)> CreateAsync(AdminRelayApp app, HttpClient admin, string name)
    {
        var created = await app.CreateKeyAsync(admin, new { name, credit = 5m });
        return (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
    }

    private static List<(string? Name, long Requests, decimal Cost)> Groups(JsonElement spend, string property) =>
        [.. spend.GetProperty(property).EnumerateArray().Select(g => (
            g.TryGetProperty("name", out var name) ? name.GetString() : null, g.GetProperty("requests").GetInt64(), g.GetProperty("cost").GetDecimal()))];
}
