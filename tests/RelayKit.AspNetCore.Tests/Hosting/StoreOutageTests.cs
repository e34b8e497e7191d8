using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>
/// A ledger that cannot be reached (PostgreSQL on a closed port) is an outage the caller may retry: 503
/// <c>store_unavailable</c> in the caller's format with <c>retry-after</c>, never the relay-bug 500, and one log line
/// with the exception for a burst of such requests, not a stack trace each.
/// </summary>
public sealed class StoreOutageTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":200,"messages":[{"role":"user","content":"Hello"}]}""";
    private const string MessagesBody = """{"model":"claude-code-opus-4.8","max_tokens":200,"messages":[{"role":"user","content":"Hello"}]}""";

    [Fact]
    public async Task An_unreachable_PostgreSQL_ledger_answers_a_retryable_503_in_the_callers_format()
    {
        await using var relay = BudgetRelay.Create(1m, s =>
        {
            s["ModelRelay:Budgets:Store"] = "PostgreSql";
            s["ModelRelay:Budgets:PostgreSqlConnectionString"] = "Host=127.0.0.1;Port=1;Username=relay;Password=unused;Database=relay;Timeout=2";
        });
        var http = relay.App.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
            Assert.True(status == 503, body.ToString());
            var error = body.GetProperty("error");
            Assert.Equal("store_unavailable", error.GetProperty("code").GetString());
            Assert.Equal("server_error", error.GetProperty("type").GetString());
            Assert.Equal("2", headers.GetValues("retry-after").Single());
        }

        var (anthropicStatus, anthropicBody, anthropicHeaders) = await RawRelayCall.PostAsync(
            http, "/v1/messages", MessagesBody, apiKey: RelaySettings.AliceKey, anthropicVersion: "2023-06-01");
        Assert.True(anthropicStatus == 503, anthropicBody.ToString());
        Assert.Equal("error", anthropicBody.GetProperty("type").GetString());
        Assert.Equal("overloaded_error", anthropicBody.GetProperty("error").GetProperty("type").GetString());
        Assert.True(anthropicHeaders.Contains("retry-after"));

        // The caller's own balance, read from the same ledger, says the same.
        var (balanceStatus, balanceBody, balanceHeaders) = await RawRelayCall.GetAsync(http, "/v1/relay/balance", bearer: RelaySettings.AliceKey);
        Assert.True(balanceStatus == 503, balanceBody.ToString());
        Assert.Equal("store_unavailable", balanceBody.GetProperty("error").GetProperty("code").GetString());
        Assert.True(balanceHeaders.Contains("retry-after"));

        // Nothing reached the upstream, and each refused request of the known caller is in its usage (the key's
        // closed-or-open check reads the same ledger: its failure must not make the caller unknown).
        Assert.Empty(relay.Fake.Requests);
        var records = await relay.WaitForRecordsAsync(4);
        Assert.Equal(4, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal("alice", r.KeyName);
            Assert.Equal(503, r.StatusCode);
            Assert.Equal(0m, r.Cost);
        });

        // The outage was logged once with its exception, not as a relay bug.
        var logs = relay.App.Logs.GetSnapshot();
        Assert.DoesNotContain(logs, r => r.Message.Contains("The relay failed", StringComparison.Ordinal));
        var outage = logs.Where(r => r.Category?.EndsWith("StoreFailures", StringComparison.Ordinal) == true).ToList();
        var line = Assert.Single(outage);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.NotNull(line.Exception);
        Assert.DoesNotContain(logs, r => r.Level >= LogLevel.Error && r.Exception is not null && r.Category?.Contains("RelayRequestHandler", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task A_key_store_that_times_out_answers_a_retryable_503_not_a_401_or_a_500()
    {
        await using var relay = FakeRelay.Create(services: services =>
        {
            // Created keys are looked up in the key store; this one does not answer in time.
            services.AddSingleton<IRelayKeyStore>(new TimingOutKeyStore());
            services.AddSingleton<CreatedKeyLookup>();
        });
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: "rk-created-key-the-store-cannot-tell");
        Assert.True(status == 503, body.ToString());
        Assert.Equal("store_unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.True(headers.Contains("retry-after"));
        Assert.Empty(relay.Fake.Requests);

        // A configured key does not need the store and is served.
        var (served, servedBody, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.True(served == 200, servedBody.ToString());
    }

    [Fact]
    public async Task An_unreachable_usage_store_answers_the_usage_page_with_a_retryable_503()
    {
        await using var relay = FakeRelay.Create(s =>
        {
            s["ModelRelay:Usage:Store"] = "PostgreSql";
            s["ModelRelay:Usage:PostgreSqlConnectionString"] = "Host=127.0.0.1;Port=1;Username=relay;Password=unused;Database=relay;Timeout=2";
        });
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.GetAsync(http, "/relay/usage", bearer: RelaySettings.AliceKey);

        Assert.True(status == 503, body.ToString());
        Assert.Equal("store_unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.True(headers.Contains("retry-after"));
        var logs = relay.App.Logs.GetSnapshot();
        Assert.DoesNotContain(logs, r => r.Level >= LogLevel.Error && r.Exception is not null);
    }

    private sealed class TimingOutKeyStore : IRelayKeyStore
    {
        public Task AddAsync(CreatedRelayKey key, CancellationToken cancellationToken = default) => throw Timeout();

        public Task<CreatedRelayKey?> GetAsync(string id, CancellationToken cancellationToken = default) => throw Timeout();

        public Task<CreatedRelayKey?> FindByHashAsync(byte[] secretSha256, CancellationToken cancellationToken = default) => throw Timeout();

        public Task<IReadOnlyList<CreatedRelayKey>> ListAsync(CancellationToken cancellationToken = default) => throw Timeout();

        public Task<CreatedRelayKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) => throw Timeout();

        public Task<CreatedRelayKey?> CloseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) => throw Timeout();

        private static TimeoutException Timeout() => new("The key store did not answer in time.");
    }
}
