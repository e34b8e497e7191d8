using System.ClientModel;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>
/// A key created through the operations API spends its ledger balance: it is charged for what it uses and
/// refused when the balance is gone. (Before this was fixed, such keys were served without any charge.)
/// </summary>
public sealed class CreatedKeyBudgetTests
{
    [Fact]
    public async Task A_created_key_is_charged_exactly_what_it_used()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var created = await app.CreateKeyAsync(admin, new { name = "paid", credit = 1m });
        var secret = created.GetProperty("secret").GetString()!;
        var id = created.GetProperty("id").GetString()!;

        ChatCompletion completion = await app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);

        // $1 input and $10 output per million tokens (AdminRelayApp's prices).
        var expected = ((completion.Usage.InputTokenCount * 1m) + (completion.Usage.OutputTokenCount * 10m)) / 1_000_000m;
        var ledger = app.Services.GetRequiredService<IBudgetLedger>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        BudgetBalance? balance;
        while ((balance = await ledger.GetBalanceAsync(id))!.Reserved != 0m)
        {
            Assert.True(DateTime.UtcNow < deadline, "the request was never settled");
            await Task.Delay(10);
        }

        Assert.True(expected > 0m);
        Assert.Equal(1m - expected, balance.Balance);
    }

    [Fact]
    public async Task A_created_key_without_credit_is_refused_before_the_upstream()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var secret = (await app.CreateKeyAsync(admin, new { name = "empty" })).GetProperty("secret").GetString()!;

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(429, error.Status);
        Assert.Contains("insufficient_quota", error.Message, StringComparison.Ordinal);
        Assert.Empty(app.Fake.Requests);
    }

    [Fact]
    public async Task A_created_key_reads_its_own_balance_costs_estimates_and_usage_like_a_configured_one()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var secret = (await app.CreateKeyAsync(admin, new { name = "self-service", credit = 1m })).GetProperty("secret").GetString()!;
        using var http = app.CreateClient();
        const string body = """{"model":"gpt-5.5","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}""";
        var (status, _, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", body, bearer: secret);
        Assert.Equal(200, status);
        var requestId = headers.GetValues("x-request-id").Single();

        var balance = await RawRelayCall.GetAsync(http, "/v1/relay/balance", bearer: secret);
        var cost = await RawRelayCall.GetAsync(http, $"/v1/relay/requests/{requestId}/cost", bearer: secret);
        var estimate = await RawRelayCall.PostAsync(http, "/v1/relay/estimate", body, bearer: secret);
        var usage = await RawRelayCall.GetAsync(http, "/relay/usage", bearer: secret);

        Assert.Equal((200, 200, 200, 200), (balance.Status, cost.Status, estimate.Status, usage.Status));
        Assert.True(balance.Body.GetProperty("balance").GetDecimal() < 1m);
    }
}
