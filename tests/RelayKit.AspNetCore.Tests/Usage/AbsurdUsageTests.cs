using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>
/// An upstream reporting usage no request can have (negative, 1e30, a string, 9.2e18 tokens): the meter counts the
/// delivered text instead, the charge and the record agree, the other keys' records are all stored, and
/// <c>/relay/usage</c> keeps answering, on the SQLite and PostgreSQL usage stores.
/// </summary>
public sealed class AbsurdUsageTests
{
    private const string Answer = "Budgets hold money before a request and charge it after.";

    private static readonly string[] Absurd = ["-5", "1e30", "\"12\"", "9200000000000000000", "12.5"];

    [Fact]
    public async Task Absurd_usage_is_metered_from_the_delivered_text_on_SQLite()
    {
        var path = Path.Combine(Path.GetTempPath(), "relaykit-usage-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await RunAsync(s =>
            {
                s["ModelRelay:Usage:Store"] = "Sqlite";
                s["ModelRelay:Usage:SqlitePath"] = path;
            });
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    [SkippableFact]
    public async Task Absurd_usage_is_metered_from_the_delivered_text_on_PostgreSQL()
    {
        var connectionString = TestServers.RequirePostgres() + ";Maximum Pool Size=10";
        var schema = PostgreSqlTestSchema.NewName("rk_absurd");
        try
        {
            await RunAsync(s =>
            {
                s["ModelRelay:Usage:Store"] = "PostgreSql";
                s["ModelRelay:Usage:PostgreSqlConnectionString"] = connectionString;
                s["ModelRelay:Usage:PostgreSqlSchema"] = schema;
            });
        }
        finally
        {
            await PostgreSqlTestSchema.DropAsync(connectionString, schema);
        }
    }

    private static async Task RunAsync(Action<Dictionary<string, string?>> storage)
    {
        var settings = RelaySettings.Create(new Uri("http://stub-upstream/v1"), new Uri("http://stub-upstream/"));
        BudgetRelay.Settings(1m, storage)(settings);
        var upstream = new StubUpstream();
        await using var app = new RelayApp(settings, relay => relay.ConfigureUpstreamHandler((_, _) => upstream));
        var http = app.CreateClient();

        // Each absurd count from alice, each followed by a sane answer for bob, in one burst the writer batches.
        var absurd = Absurd;
        var calls = new List<Task<(int Status, string RequestId)>>();
        foreach (var count in absurd)
        {
            calls.Add(PostAsync(http, RelaySettings.AliceKey, count));
            calls.Add(PostAsync(http, RelaySettings.BobKey, "7"));
        }

        var results = await Task.WhenAll(calls);
        Assert.All(results, r => Assert.Equal(200, r.Status));

        var store = app.Services.GetRequiredService<RelayKit.AspNetCore.Usage.IUsageStore>();
        var ledger = app.Services.GetRequiredService<IBudgetLedger>();
        var records = await WaitForRecordsAsync(store, results.Length);
        foreach (var (_, requestId) in results.Where((_, i) => i % 2 == 0))
        {
            var record = Assert.Single(records, r => r.RequestId == requestId);
            var reservation = await ledger.GetReservationAsync(requestId);
            Assert.Equal(ReservationState.Settled, reservation!.State);

            // Not the upstream's figure: the prompt as estimated and the delivered text, counted; the record says the charge.
            Assert.Null(record.InputTokens);
            Assert.True(reservation.Charged > 0m && reservation.Charged < reservation.Amount, $"{reservation.Charged} of {reservation.Amount}");
            Assert.Equal(reservation.Charged, record.Cost);
        }

        var bobs = records.Where(r => r.KeyName == "bob").ToList();
        Assert.Equal(absurd.Length, bobs.Count);
        Assert.All(bobs, r => Assert.Equal((7L, 7L), (r.InputTokens!.Value, r.OutputTokens!.Value)));

        // The caller's own usage page reads every record, absurd answers included.
        foreach (var key in new[] { RelaySettings.AliceKey, RelaySettings.BobKey })
        {
            var (status, body, _) = await RawRelayCall.GetAsync(http, "relay/usage", bearer: key);
            Assert.True(status == 200, body.ToString());
        }
    }

    private static async Task<(int Status, string RequestId)> PostAsync(HttpClient http, string key, string count)
    {
        var body = $$"""{"model":"gpt-5.5","max_tokens":200,"messages":[{"role":"user","content":"Tell me about budgets. usage={{count.Replace("\"", "\\\"", StringComparison.Ordinal)}}|"}]}""";
        using var request = BudgetRelay.Post("/v1/chat/completions", body, key);
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, response.Headers.GetValues("x-request-id").Single());
    }

    private static async Task<List<RelayKit.AspNetCore.Usage.UsageRecord>> WaitForRecordsAsync(RelayKit.AspNetCore.Usage.IUsageStore store, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var records = new List<RelayKit.AspNetCore.Usage.UsageRecord>();
            await foreach (var record in store.ReadAsync(RelayKit.AspNetCore.Usage.UsageFilter.All, CancellationToken.None))
            {
                records.Add(record);
            }

            if (records.Count >= count)
            {
                return records;
            }

            Assert.True(DateTime.UtcNow < deadline, $"only {records.Count} of {count} usage records were stored");
            await Task.Delay(20);
        }
    }

    /// <summary>An OpenAI upstream answering every chat with <see cref="Answer"/> and the usage count the request's x-stub-usage header names.</summary>
    private sealed class StubUpstream : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var prompt = System.Text.Json.JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))
                .RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!;
            var count = prompt[(prompt.IndexOf("usage=", StringComparison.Ordinal) + "usage=".Length)..prompt.IndexOf('|', StringComparison.Ordinal)];
            var body = string.Create(CultureInfo.InvariantCulture, $$$"""
                {"id":"chatcmpl-stub","object":"chat.completion","created":1,"model":"gpt-5.5","choices":[{"index":0,"message":{"role":"assistant","content":"{{{Answer}}}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":{{{count}}},"completion_tokens":{{{count}}},"total_tokens":{{{count}}}}}
                """);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
    }
}
