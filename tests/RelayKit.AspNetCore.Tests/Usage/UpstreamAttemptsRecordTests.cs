using System.ClientModel;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.Routing;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.Testing;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>
/// Every upstream attempt a request took is in its usage record (issue 21): the provider, the model it was sent, the status
/// it answered or why none came, and the latency, on each usage store, as the OpenAI SDK's requests leave them.
/// </summary>
public sealed class UpstreamAttemptsRecordTests
{
    public static TheoryData<string> Stores => new() { "InMemory", "Sqlite", "PostgreSql" };

    [SkippableTheory]
    [MemberData(nameof(Stores))]
    public async Task A_fallback_after_a_503_is_recorded_as_two_attempts_and_a_plain_answer_as_one(string store)
    {
        await using var storage = await UsageStorage.CreateAsync(store);
        await using var relay = FakeRelay.Create(s =>
        {
            RelaySettings.PrimaryAndFallback(s);
            storage.Configure(s);
        });
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ServerError(503));
        relay.Fake.Setup().ForModel("gpt55-prod").RespondWithText("From the fallback.");
        var client = relay.App.CreateOpenAiClient(RelaySettings.AliceKey);

        ClientResult<ChatCompletion> fallback = await client.GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("Hello")]);
        var fallbackId = RequestId(fallback);
        var records = await relay.WaitForRecordsAsync(1);
        ClientResult<ChatCompletion> plain = await client.GetChatClient("claude-code-opus-4.8").CompleteChatAsync([new UserChatMessage("Hello")]);
        var plainId = RequestId(plain);
        records = await relay.WaitForRecordsAsync(2);

        Assert.Equal("From the fallback.", fallback.Value.Content[0].Text);
        var two = Assert.Single(records, r => r.RequestId == fallbackId);
        Assert.Equal(
            [("openai", "gpt-5.5", (int?)503, (string?)null), ("azure", "gpt55-prod", 200, null)],
            two.Attempts.Select(a => (a.Provider, a.UpstreamModel, a.StatusCode, a.ErrorType)));
        Assert.All(two.Attempts, a => Assert.InRange(a.Latency, TimeSpan.Zero, two.Duration));
        Assert.Equal(("azure", 200), (two.Provider, two.StatusCode));

        var one = Assert.Single(records, r => r.RequestId == plainId);
        var attempt = Assert.Single(one.Attempts);
        Assert.Equal(("anthropic", "claude-opus-4-8", (int?)200, (string?)null), (attempt.Provider, attempt.UpstreamModel, attempt.StatusCode, attempt.ErrorType));

        // The export counts them.
        using var csv = new StringWriter();
        await UsageCsv.WriteAsync(relay.App.Services.GetRequiredService<IUsageStore>().ReadAsync(UsageFilter.All, CancellationToken.None), csv, false, CancellationToken.None);
        var lines = csv.ToString().Split("\r\n");
        var column = Array.IndexOf(lines[0].Split(','), "attempts");
        Assert.True(column >= 0, lines[0]);
        Assert.Equal("2", lines.Single(l => l.StartsWith(fallbackId, StringComparison.Ordinal)).Split(',')[column]);
        Assert.Equal("1", lines.Single(l => l.StartsWith(plainId, StringComparison.Ordinal)).Split(',')[column]);
    }

    [Fact]
    public async Task An_upstream_that_never_answered_is_recorded_by_its_error_and_a_streamed_fallback_by_its_status()
    {
        await using var relay = FakeRelay.Create(RelaySettings.PrimaryAndFallback);
        relay.Fake.Setup().ForModel("gpt-5.5").WithFault(FakeFault.ConnectionReset());
        relay.Fake.Setup().ForModel("gpt55-prod").RespondWithText("Streamed from the fallback.");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        var text = new List<string>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello")]))
        {
            text.AddRange(update.ContentUpdate.Select(c => c.Text));
        }

        Assert.Equal("Streamed from the fallback.", string.Concat(text));
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.True(record.Streamed);
        Assert.Equal(
            [("openai", "gpt-5.5", (int?)null, "upstream_unreachable"), ("azure", "gpt55-prod", 200, null)],
            record.Attempts.Select(a => (a.Provider, a.UpstreamModel, a.StatusCode, a.ErrorType)));
    }

    [Fact]
    public async Task A_request_that_never_reached_an_upstream_has_no_attempts()
    {
        await using var relay = FakeRelay.Create();
        using var http = relay.App.CreateClient();

        var (status, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions",
            """{"model":"gpt-nowhere","messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);

        Assert.Equal(404, status);
        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Empty(record.Attempts);
        Assert.Empty(relay.Fake.Requests);
    }

    private static string RequestId(ClientResult result) =>
        result.GetRawResponse().Headers.TryGetValue("x-request-id", out var id) ? id! : throw new InvalidOperationException("No x-request-id.");

    /// <summary>A usage store of the test's own: in memory, a SQLite file, or a PostgreSQL schema (skipped without a server).</summary>
    private sealed class UsageStorage : IAsyncDisposable
    {
        private readonly string _kind;
        private readonly string? _path;
        private readonly string? _connectionString;
        private readonly string _schema = PostgreSqlTestSchema.NewName("rk_attempts");

        private UsageStorage(string kind, string? path, string? connectionString)
        {
            _kind = kind;
            _path = path;
            _connectionString = connectionString;
        }

        public static Task<UsageStorage> CreateAsync(string kind) => Task.FromResult(kind switch
        {
            "Sqlite" => new UsageStorage(kind, Path.Combine(Path.GetTempPath(), "relaykit-attempts-" + Guid.NewGuid().ToString("N") + ".db"), null),
            "PostgreSql" => new UsageStorage(kind, null, TestServers.RequirePostgres()),
            _ => new UsageStorage(kind, null, null),
        });

        public void Configure(Dictionary<string, string?> settings)
        {
            settings["ModelRelay:Usage:Store"] = _kind;
            if (_path is not null)
            {
                settings["ModelRelay:Usage:SqlitePath"] = _path;
            }

            if (_connectionString is not null)
            {
                settings["ModelRelay:Usage:PostgreSqlConnectionString"] = _connectionString;
                settings["ModelRelay:Usage:PostgreSqlSchema"] = _schema;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_path is not null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
                {
                    File.Delete(file);
                }
            }

            await PostgreSqlTestSchema.DropAsync(_connectionString, _schema);
        }
    }
}
