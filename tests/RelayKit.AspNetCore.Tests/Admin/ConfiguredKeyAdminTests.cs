using System.ClientModel;
using System.Globalization;
using System.Net;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using static RelayKit.AspNetCore.Tests.Admin.AdminCalls;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>A key configured with a <c>Budget</c> is managed through the operations API by its name, like a created key.</summary>
public sealed class ConfiguredKeyAdminTests
{
    [SkippableTheory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    [InlineData(AdminStorage.PostgreSql)]
    public async Task A_configured_key_with_a_budget_is_read_topped_up_and_refunded_by_its_name(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage, s => s["ModelRelay:Keys:0:Budget"] = "2");
        using var admin = app.CreateAdminClient();

        // Before its first request: the configured budget is its balance.
        var before = await GetJsonAsync(admin, $"{KeysPath}/alice/balance");
        var topUp = await PostJsonAsync(admin, $"{KeysPath}/alice/topups", new { amount = 3m, reference = "pay_alice_1" });
        var again = await PostJsonAsync(admin, $"{KeysPath}/alice/topups", new { amount = 3m, reference = "pay_alice_1" });
        var completion = await app.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.True(completion.GetRawResponse().Headers.TryGetValue("x-relaykit-cost-charged", out var chargedText));
        var charged = decimal.Parse(chargedText!, CultureInfo.InvariantCulture);
        var read = await GetJsonAsync(admin, $"{KeysPath}/alice");
        var ledger = await GetJsonAsync(admin, $"{KeysPath}/alice/ledger");
        var refund = await PostJsonAsync(admin, $"{KeysPath}/alice/refund", new { reference = "refund_alice" });

        Assert.Equal((HttpStatusCode.OK, 2m), (before.Status, before.Body.GetProperty("balance").GetDecimal()));
        Assert.Equal((HttpStatusCode.OK, "applied", 5m), (topUp.Status, topUp.Body.GetProperty("status").GetString(), topUp.Body.GetProperty("balance").GetDecimal()));
        Assert.Equal("already_applied", again.Body.GetProperty("status").GetString());
        Assert.True(charged > 0m, "the request was not charged");
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal(("alice", "configured", "active"), (read.Body.GetProperty("id").GetString(), read.Body.GetProperty("source").GetString(), read.Body.GetProperty("state").GetString()));
        Assert.Equal(5m - charged, read.Body.GetProperty("balance").GetProperty("balance").GetDecimal());
        Assert.Equal(["initial:alice", "pay_alice_1"], ledger.Body.GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("kind").GetString() == "top_up").Select(e => e.GetProperty("reference").GetString()));
        Assert.Equal(HttpStatusCode.OK, refund.Status);
        Assert.Equal(5m - charged, refund.Body.GetProperty("amount").GetDecimal());

        // Refunded: closed for requests, and shown closed.
        var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
            app.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, refused.Status);
        Assert.Contains("key_closed", refused.Message, StringComparison.Ordinal);
        Assert.Equal("closed", (await GetJsonAsync(admin, $"{KeysPath}/alice")).Body.GetProperty("state").GetString());
        var listed = (await GetJsonAsync(admin, KeysPath)).Body.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == "alice");
        Assert.Equal(("configured", "closed"), (listed.GetProperty("source").GetString(), listed.GetProperty("state").GetString()));
        Assert.Equal(0m, listed.GetProperty("balance").GetProperty("balance").GetDecimal());
        Assert.Single(app.Fake.Requests);
    }

    [Fact]
    public async Task A_refunded_configured_key_is_refused_with_key_closed_on_the_model_list_and_the_estimate()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory, s => s["ModelRelay:Keys:0:Budget"] = "2");
        using var admin = app.CreateAdminClient();
        var refund = await PostJsonAsync(admin, $"{KeysPath}/alice/refund", new { reference = "refund_alice" });
        Assert.Equal(HttpStatusCode.OK, refund.Status);

        using var http = app.CreateClient();
        var (modelsCode, models, _) = await RawRelayCall.GetAsync(http, "v1/models", bearer: RelaySettings.AliceKey);
        var (estimateCode, estimate, _) = await RawRelayCall.PostAsync(http, "v1/relay/estimate?endpoint=chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);

        Assert.Equal((401, "key_closed"), (modelsCode, models.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal((401, "key_closed"), (estimateCode, estimate.GetProperty("error").GetProperty("code").GetString()));
    }

    [Fact]
    public async Task Configured_keys_with_a_budget_are_listed_and_one_without_is_not_metered_nor_revocable_here()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory, s => s["ModelRelay:Keys:0:Budget"] = "0");
        using var admin = app.CreateAdminClient();

        var list = await GetJsonAsync(admin, KeysPath);
        var bobTopUp = await PostJsonAsync(admin, $"{KeysPath}/bob/topups", new { amount = 1m, reference = "pay_bob" });
        var aliceRevoke = await PostJsonAsync(admin, $"{KeysPath}/alice/revoke", new { });
        var aliceTopUp = await PostJsonAsync(admin, $"{KeysPath}/alice/topups", new { amount = 1m, reference = "pay_alice" });

        Assert.Equal(["alice"], list.Body.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("id").GetString()));
        Assert.Equal((HttpStatusCode.Conflict, "key_not_metered"), (bobTopUp.Status, bobTopUp.Body.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal((HttpStatusCode.Conflict, "key_configured"), (aliceRevoke.Status, aliceRevoke.Body.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal((HttpStatusCode.OK, 1m), (aliceTopUp.Status, aliceTopUp.Body.GetProperty("balance").GetDecimal()));
    }
}
