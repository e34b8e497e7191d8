using System.ClientModel;
using System.Net;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using static RelayKit.AspNetCore.Tests.Admin.AdminCalls;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>A refunded key is told it is closed (not that it is invalid), and its holder still reads what it spent.</summary>
public sealed class ClosedKeyTests
{
    [SkippableTheory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    [InlineData(AdminStorage.PostgreSql)]
    public async Task A_refunded_key_gets_401_key_closed_in_each_format_and_still_reads_its_usage(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage);
        using var admin = app.CreateAdminClient();
        var created = await app.CreateKeyAsync(admin, new { name = "olga", credit = 3m });
        var (id, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
        var completion = await app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.True(completion.GetRawResponse().Headers.TryGetValue("x-request-id", out var requestId));
        Assert.Equal(HttpStatusCode.OK, (await PostJsonAsync(admin, $"{KeysPath}/{id}/refund", new { })).Status);
        await WaitForUsageAsync(app, 1);
        using var http = app.CreateClient();

        var sdk = await Assert.ThrowsAsync<ClientResultException>(() =>
            app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));
        var openAi = await RawRelayCall.PostAsync(http, "/v1/chat/completions", """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", bearer: secret);
        var anthropic = await RawRelayCall.PostAsync(http, "/v1/messages",
            """{"model":"claude-code-opus-4.8","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", apiKey: secret, anthropicVersion: "2023-06-01");
        var usage = await RawRelayCall.GetAsync(http, "/relay/usage", bearer: secret);
        var cost = await RawRelayCall.GetAsync(http, $"/v1/relay/requests/{requestId}/cost", bearer: secret);
        var estimate = await RawRelayCall.PostAsync(http, "/v1/relay/estimate", """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", bearer: secret);

        Assert.Equal(401, sdk.Status);
        Assert.Equal((401, "key_closed"), (openAi.Status, openAi.Body.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal("false", openAi.Headers.GetValues("x-should-retry").Single());
        Assert.Equal((401, "authentication_error"), (anthropic.Status, anthropic.Body.GetProperty("error").GetProperty("type").GetString()));
        Assert.Contains("closed", anthropic.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal((401, "key_closed"), (estimate.Status, estimate.Body.GetProperty("error").GetProperty("code").GetString()));
        Assert.Single(app.Fake.Requests);

        Assert.Equal(200, usage.Status);
        Assert.True(usage.Body.GetProperty("balance").GetProperty("closed").GetBoolean());
        Assert.True(usage.Body.GetProperty("recent").GetArrayLength() == 1, usage.Body.ToString());
        var recent = usage.Body.GetProperty("recent")[0];
        Assert.Equal(requestId, recent.GetProperty("request_id").GetString());
        Assert.True(recent.GetProperty("cost").GetDecimal() > 0m);
        Assert.Equal(200, cost.Status);
        Assert.Equal(recent.GetProperty("cost").GetDecimal(), cost.Body.GetProperty("charged").GetDecimal());
    }

    [Fact]
    public async Task A_revoked_key_is_still_refused_as_unknown_and_reads_nothing()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var created = await app.CreateKeyAsync(admin, new { name = "pete", credit = 1m });
        var (id, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
        await PostJsonAsync(admin, $"{KeysPath}/{id}/refund", new { });
        await PostJsonAsync(admin, $"{KeysPath}/{id}/revoke", new { });
        using var http = app.CreateClient();

        var usage = await RawRelayCall.GetAsync(http, "/relay/usage", bearer: secret);

        Assert.Equal((401, "invalid_api_key"), (usage.Status, usage.Body.GetProperty("error").GetProperty("code").GetString()));
    }
}
