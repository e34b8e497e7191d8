using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenAI.Chat;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Admin;

public sealed class RelayAdminEndpointsTests
{
    private const string Keys = AdminRelayApp.AdminPrefix + "/keys";

    [Theory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    public async Task A_created_key_works_through_the_OpenAI_SDK_and_only_its_hash_is_stored(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage);
        using var admin = app.CreateAdminClient();

        var created = await app.CreateKeyAsync(admin, new { name = "carol", models = new[] { "gpt-*" }, credit = 5.00m });
        var secret = created.GetProperty("secret").GetString()!;
        var id = created.GetProperty("id").GetString()!;

        Assert.StartsWith("rk-", secret, StringComparison.Ordinal);
        Assert.True(secret.Length >= 35, secret.Length.ToString());
        Assert.Equal(5.00m, created.GetProperty("balance").GetProperty("balance").GetDecimal());
        ChatCompletion completion = await app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.NotEmpty(completion.Content);
        Assert.Single(app.Fake.Requests);

        var stored = Assert.Single(await app.KeyStore.ListAsync());
        Assert.Equal(id, stored.Id);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(secret)), stored.SecretSha256);
        Assert.DoesNotContain(secret, stored.ToString(), StringComparison.Ordinal);
        if (storage == AdminStorage.Sqlite)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            var file = await ReadSharedAsync(app.SqlitePath);
            Assert.Contains(id, file, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, file, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_created_key_may_use_only_its_models()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var secret = (await app.CreateKeyAsync(admin, new { name = "narrow", models = new[] { "o*-mini" }, credit = 1m })).GetProperty("secret").GetString()!;

        var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
            app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(404, refused.Status);
    }

    [Fact]
    public async Task The_secret_is_never_in_list_or_read_answers_nor_in_any_log()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var created = await app.CreateKeyAsync(admin, new { name = "dave", credit = 1m });
        var secret = created.GetProperty("secret").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        await app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);
        await admin.PostAsJsonAsync($"{Keys}/{id}/revoke", new { });
        await Assert.ThrowsAsync<ClientResultException>(() => app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));

        var list = await admin.GetStringAsync(Keys);
        var read = await admin.GetStringAsync($"{Keys}/{id}");

        Assert.Contains(id, list, StringComparison.Ordinal);
        Assert.Contains("\"dave\"", list, StringComparison.Ordinal);
        Assert.Contains(id, read, StringComparison.Ordinal);
        var hashHex = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
        foreach (var text in new[] { list, read })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", text, StringComparison.Ordinal);
            Assert.DoesNotContain(hashHex, text, StringComparison.OrdinalIgnoreCase);
        }

        var logs = app.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Message.Contains(id, StringComparison.Ordinal));
        Assert.DoesNotContain(logs, r => r.Message.Contains(secret, StringComparison.Ordinal)
            || r.StructuredState?.Any(p => p.Value?.Contains(secret, StringComparison.Ordinal) == true) == true);
    }

    [Theory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    public async Task A_top_up_webhook_delivered_twice_credits_once_and_answers_the_first_result(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage);
        using var admin = app.CreateAdminClient();
        var id = (await app.CreateKeyAsync(admin, new { name = "erin" })).GetProperty("id").GetString()!;

        var first = await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = 12.34m, reference = "pay_123" });
        var second = await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = 12.34m, reference = "pay_123" });

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal("applied", first.Body.GetProperty("status").GetString());
        Assert.Equal("already_applied", second.Body.GetProperty("status").GetString());
        Assert.Equal(12.34m, second.Body.GetProperty("amount").GetDecimal());
        Assert.Equal(12.34m, await BalanceAsync(admin, id));
    }

    [Theory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    public async Task Concurrent_deliveries_of_one_top_up_credit_once(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage);
        using var admin = app.CreateAdminClient();
        var id = (await app.CreateKeyAsync(admin, new { name = "frank" })).GetProperty("id").GetString()!;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var deliveries = Enumerable.Range(0, 16).Select(async _ =>
        {
            await start.Task;
            return await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = 7.5m, reference = "evt_concurrent" });
        }).ToList();
        start.SetResult();
        var answers = await Task.WhenAll(deliveries);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Single(answers, a => a.Body.GetProperty("status").GetString() == "applied");
        Assert.Equal(7.5m, await BalanceAsync(admin, id));
        var ledger = (await GetJsonAsync(admin, $"{Keys}/{id}/ledger")).Body.GetProperty("entries");
        Assert.Single(ledger.EnumerateArray(), e => e.GetProperty("kind").GetString() == "top_up");
    }

    [Fact]
    public async Task A_reference_reused_for_another_amount_is_a_conflict()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var id = (await app.CreateKeyAsync(admin, new { name = "gina" })).GetProperty("id").GetString()!;
        await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = 1m, reference = "pay_1" });

        var conflict = await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = 2m, reference = "pay_1" });

        Assert.Equal(HttpStatusCode.Conflict, conflict.Status);
        Assert.Equal("reference_conflict", conflict.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1m, await BalanceAsync(admin, id));
    }

    [SkippableTheory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    [InlineData(AdminStorage.PostgreSql)]
    public async Task Creating_a_key_with_a_credit_reference_used_for_another_key_is_a_conflict_and_creates_nothing(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage);
        using var admin = app.CreateAdminClient();
        var first = await app.CreateKeyAsync(admin, new { name = "quinn", credit = 5m, credit_reference = "pay_create_1" });

        var second = await PostJsonAsync(admin, Keys, new { name = "quinn-again", credit = 5m, credit_reference = "pay_create_1" });

        Assert.Equal(HttpStatusCode.Conflict, second.Status);
        Assert.Equal("reference_conflict", second.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.False(second.Body.TryGetProperty("secret", out _));
        var stored = Assert.Single(await app.KeyStore.ListAsync());
        Assert.Equal(first.GetProperty("id").GetString(), stored.Id);
        Assert.Equal(5m, await BalanceAsync(admin, stored.Id));
    }

    [Fact]
    public async Task With_the_relay_off_the_operations_api_is_not_mapped_and_the_ledger_file_is_never_opened()
    {
        await using var app = new AdminRelayApp(AdminStorage.Sqlite, s => s["ModelRelay:Enabled"] = "false");
        using var admin = app.CreateAdminClient();

        var keys = await admin.GetAsync("/relay/admin/keys");

        // The sweep's loop has ended at start (a running one never ends), so nothing of it can open the file later.
        var sweeper = app.Services.GetServices<IHostedService>().OfType<ReservationExpirySweeper>().Single();
        Assert.True(sweeper.ExecuteTask is { IsCompletedSuccessfully: true }, "the expiry sweep runs for a relay that is off");
        Assert.Equal(HttpStatusCode.NotFound, keys.StatusCode);
        Assert.False(File.Exists(app.SqlitePath), "the expiry sweep opened the ledger of a relay that is off");
    }

    [Theory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    public async Task A_credit_past_the_maximum_balance_is_a_400_and_changes_nothing(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage);
        using var admin = app.CreateAdminClient();
        var id = (await app.CreateKeyAsync(admin, new { name = "ida", credit = 999_999_999_999m })).GetProperty("id").GetString()!;

        // Over the maximum with what is there, and a number no balance could even be added to.
        var over = await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = 2m, reference = "pay_over" });
        var huge = await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = decimal.MaxValue, reference = "pay_huge" });
        var create = await PostJsonAsync(admin, Keys, new { name = "jay", credit = decimal.MaxValue });
        var fine = await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = 0.0000000000000001m, reference = "pay_fine" });

        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.BadRequest), (over.Status, huge.Status, create.Status));
        Assert.Equal(HttpStatusCode.BadRequest, fine.Status);
        Assert.Contains("15 decimal places", fine.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("invalid_request", huge.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("1,000,000,000,000", over.Body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(999_999_999_999m, await BalanceAsync(admin, id));
        var ledger = (await GetJsonAsync(admin, $"{Keys}/{id}/ledger")).Body.GetProperty("entries");
        Assert.Single(ledger.EnumerateArray(), e => e.GetProperty("kind").GetString() == "top_up");
    }

    [Theory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    public async Task A_refund_pays_back_the_paid_balance_closes_the_key_and_the_key_then_gets_401(AdminStorage storage)
    {
        await using var app = new AdminRelayApp(storage, s => s["ModelRelay:Admin:TrialCredit"] = "0.50");
        using var admin = app.CreateAdminClient();
        var created = await app.CreateKeyAsync(admin, new { name = "hank", credit = 3m });
        var (id, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
        await app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);

        var refund = await PostJsonAsync(admin, $"{Keys}/{id}/refund", new { reference = "refund_1" });
        var again = await PostJsonAsync(admin, $"{Keys}/{id}/refund", new { reference = "refund_1" });
        var topUp = await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = 1m, reference = "late" });

        Assert.Equal(HttpStatusCode.OK, refund.Status);
        Assert.Equal(3m, refund.Body.GetProperty("amount").GetDecimal());
        Assert.Equal("already_applied", again.Body.GetProperty("status").GetString());
        Assert.Equal(3m, again.Body.GetProperty("amount").GetDecimal());
        Assert.Equal(HttpStatusCode.Conflict, topUp.Status);
        var read = (await GetJsonAsync(admin, $"{Keys}/{id}")).Body;
        Assert.Equal("closed", read.GetProperty("state").GetString());
        Assert.True(read.GetProperty("balance").GetProperty("closed").GetBoolean());
        var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
            app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, refused.Status);
        Assert.Single(app.Fake.Requests);
    }

    [Fact]
    public async Task A_revoked_key_gets_401_at_once_in_each_callers_format()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var created = await app.CreateKeyAsync(admin, new { name = "ivy", credit = 1m });
        var (id, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
        await app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]); // now cached

        var revoked = await PostJsonAsync(admin, $"{Keys}/{id}/revoke", new { });

        Assert.Equal("revoked", revoked.Body.GetProperty("state").GetString());
        var openAi = await Assert.ThrowsAsync<ClientResultException>(() =>
            app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, openAi.Status);
        using var http = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = JsonContent.Create(new { model = "claude-code-opus-4.8", max_tokens = 16, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        request.Headers.Add("x-api-key", secret);
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var anthropic = await http.SendAsync(request);
        var body = JsonDocument.Parse(await anthropic.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.Unauthorized, anthropic.StatusCode);
        Assert.Equal("error", body.GetProperty("type").GetString());
        Assert.Equal("authentication_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Single(app.Fake.Requests);
    }

    [Fact]
    public async Task A_key_stops_working_when_it_expires()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var created = await app.CreateKeyAsync(admin, new { name = "jack", credit = 1m, expires_at = app.Time.GetUtcNow().AddHours(1) });
        var (id, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
        var chat = app.CreateOpenAiClient(secret).GetChatClient("gpt-5.5");

        await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        app.Time.Advance(TimeSpan.FromMinutes(59));
        await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        app.Time.Advance(TimeSpan.FromMinutes(1));
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(401, refused.Status);
        Assert.Equal(2, app.Fake.Requests.Count);
        Assert.Equal("expired", (await GetJsonAsync(admin, $"{Keys}/{id}")).Body.GetProperty("state").GetString());
    }

    [Fact]
    public async Task New_keys_get_the_configured_trial_credit_as_free_credit()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory, s => s["ModelRelay:Admin:TrialCredit"] = "2.50");
        using var admin = app.CreateAdminClient();

        var created = await app.CreateKeyAsync(admin, new { name = "kim" });
        var id = created.GetProperty("id").GetString()!;
        var balance = (await GetJsonAsync(admin, $"{Keys}/{id}/balance")).Body;
        var refund = await PostJsonAsync(admin, $"{Keys}/{id}/refund", new { });

        Assert.Equal(2.50m, balance.GetProperty("balance").GetDecimal());
        Assert.Equal(2.50m, balance.GetProperty("free_credit").GetDecimal());
        Assert.Equal(0m, refund.Body.GetProperty("amount").GetDecimal());
        var entries = (await GetJsonAsync(admin, $"{Keys}/{id}/ledger")).Body.GetProperty("entries");
        Assert.Contains(entries.EnumerateArray(), e => e.GetProperty("kind").GetString() == "free_credit" && e.GetProperty("amount").GetDecimal() == 2.50m);
    }

    [Fact]
    public async Task The_ledger_reads_in_pages()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var id = (await app.CreateKeyAsync(admin, new { name = "lee" })).GetProperty("id").GetString()!;
        for (var i = 1; i <= 5; i++)
        {
            await PostJsonAsync(admin, $"{Keys}/{id}/topups", new { amount = (decimal)i, reference = $"p{i}" });
        }

        var first = (await GetJsonAsync(admin, $"{Keys}/{id}/ledger?limit=3")).Body;
        var next = first.GetProperty("next_after").GetInt64();
        var second = (await GetJsonAsync(admin, $"{Keys}/{id}/ledger?limit=3&after={next}")).Body;

        Assert.Equal([1m, 2m, 3m], first.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("amount").GetDecimal()));
        Assert.Equal([4m, 5m], second.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("amount").GetDecimal()));
        Assert.False(second.TryGetProperty("next_after", out _));
    }

    [Theory]
    [InlineData("{}", "'name' is required")]
    [InlineData("{\"name\":\"x\",\"credit\":-1}", "'credit' must be positive")]
    [InlineData("{\"name\":\"x\",\"expires_at\":\"2020-01-01T00:00:00Z\"}", "'expires_at' must be in the future")]
    [InlineData("{\"name\":\"x\",\"models\":[\"\"]}", "'models' must not contain empty names")]
    [InlineData("{\"name\":", "not valid JSON")]
    [InlineData("{\"name\":\"x\",\"secret\":\"rk-chosen\"}", "not valid JSON")]
    public async Task A_bad_create_request_is_400_with_a_clear_message(string json, string message)
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();

        using var response = await admin.PostAsync(Keys, new StringContent(json, Encoding.UTF8, "application/json"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(await app.KeyStore.ListAsync());
    }

    [Theory]
    [InlineData("{\"reference\":\"r\"}", "'amount' is required")]
    [InlineData("{\"amount\":0,\"reference\":\"r\"}", "'amount' is required")]
    [InlineData("{\"amount\":1}", "'reference' is required")]
    [InlineData("{\"amount\":1,\"reference\":\"  \"}", "'reference' is required")]
    public async Task A_bad_top_up_is_400_and_credits_nothing(string json, string message)
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var id = (await app.CreateKeyAsync(admin, new { name = "max" })).GetProperty("id").GetString()!;

        using var response = await admin.PostAsync($"{Keys}/{id}/topups", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0m, await BalanceAsync(admin, id));
    }

    [Theory]
    [InlineData("GET", "/keys/key_nobody")]
    [InlineData("GET", "/keys/key_nobody/balance")]
    [InlineData("GET", "/keys/key_nobody/ledger")]
    [InlineData("POST", "/keys/key_nobody/topups")]
    [InlineData("POST", "/keys/key_nobody/refund")]
    [InlineData("POST", "/keys/key_nobody/revoke")]
    public async Task An_unknown_key_is_404(string method, string path)
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();

        using var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), AdminRelayApp.AdminPrefix + path)
        {
            Content = method == "POST" ? JsonContent.Create(new { amount = 1m, reference = "r" }) : null,
        });
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("key_not_found", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_hosts_policy_protects_every_operations_endpoint()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var anonymous = app.CreateClient();
        using var user = app.CreateClient();
        user.DefaultRequestHeaders.Add("X-Test-User", "mallory");
        using var admin = app.CreateAdminClient();

        using var noUser = await anonymous.PostAsJsonAsync(Keys, new { name = "x" });
        using var notAdmin = await user.PostAsJsonAsync(Keys, new { name = "x" });
        using var listNoUser = await anonymous.GetAsync(Keys);
        using var listNotAdmin = await user.GetAsync(Keys);

        Assert.Equal(HttpStatusCode.Unauthorized, noUser.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, listNoUser.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, listNotAdmin.StatusCode);
        Assert.Empty(await app.KeyStore.ListAsync());
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(Keys)).StatusCode);
    }

    [Fact]
    public async Task Without_a_policy_or_an_admin_key_the_operations_api_refuses_everything()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory, hostPolicy: false);
        using var client = app.CreateClient();

        var response = await PostJsonAsync(client, Keys, new { name = "x" });

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
        Assert.Equal("admin_unprotected", response.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Empty(await app.KeyStore.ListAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_admin_key_option_guards_the_operations_api(bool byHash)
    {
        const string adminKey = "admin-key-0123456789abcdef";
        await using var app = new AdminRelayApp(AdminStorage.InMemory, s =>
        {
            if (byHash)
            {
                s["ModelRelay:Admin:KeySha256"] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(adminKey)));
            }
            else
            {
                s["ModelRelay:Admin:Key"] = adminKey;
            }
        }, hostPolicy: false);
        using var none = app.CreateClient();
        using var wrong = app.CreateClient();
        wrong.DefaultRequestHeaders.Authorization = new("Bearer", adminKey + "x");
        using var right = app.CreateClient();
        right.DefaultRequestHeaders.Authorization = new("Bearer", adminKey);

        var noKey = await PostJsonAsync(none, Keys, new { name = "x" });
        var wrongKey = await PostJsonAsync(wrong, Keys, new { name = "x" });
        var rightKey = await PostJsonAsync(right, Keys, new { name = "x" });

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.Status);
        Assert.Equal(HttpStatusCode.Created, rightKey.Status);
        Assert.Single(await app.KeyStore.ListAsync());
        Assert.DoesNotContain(app.Logs.GetSnapshot(), r => r.Message.Contains(adminKey, StringComparison.Ordinal));
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostJsonAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<decimal> BalanceAsync(HttpClient admin, string id) =>
        (await GetJsonAsync(admin, $"{Keys}/{id}/balance")).Body.GetProperty("balance").GetDecimal();

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.Latin1);
        var text = await reader.ReadToEndAsync();
        var wal = path + "-wal";
        if (File.Exists(wal))
        {
            await using var walStream = new FileStream(wal, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var walReader = new StreamReader(walStream, Encoding.Latin1);
            text += await walReader.ReadToEndAsync();
        }

        return text;
    }
}
