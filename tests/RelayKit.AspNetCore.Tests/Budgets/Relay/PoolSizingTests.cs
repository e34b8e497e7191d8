using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// Two relay instances on one PostgreSQL database with the default pool (20 connections each, the ledger and the
/// usage store sharing it): 200 concurrent metered requests all answer, and the ledger's charges are the usage
/// records' costs, request by request.
/// </summary>
public sealed class PoolSizingTests
{
    private const string Body = """{"model":"gpt-5.5","max_tokens":100,"messages":[{"role":"user","content":"Count to three."}]}""";

    [SkippableFact]
    public async Task Two_instances_with_default_pools_serve_200_concurrent_metered_requests()
    {
        var connectionString = TestServers.RequirePostgres();
        var schema = PostgreSqlTestSchema.NewName("rk_pool");
        void Shared(Dictionary<string, string?> s)
        {
            s["ModelRelay:Budgets:Store"] = "PostgreSql";
            s["ModelRelay:Budgets:PostgreSqlConnectionString"] = connectionString;
            s["ModelRelay:Budgets:PostgreSqlSchema"] = schema;
            s["ModelRelay:Usage:Store"] = "PostgreSql";
            s["ModelRelay:Usage:PostgreSqlConnectionString"] = connectionString;
            s["ModelRelay:Usage:PostgreSqlSchema"] = schema;
        }

        try
        {
            await using var first = BudgetRelay.Create(100m, Shared);
            await using var second = BudgetRelay.Create(100m, Shared);
            var hosts = new[] { first.App.CreateClient(), second.App.CreateClient() };

            const int requests = 200;
            var results = await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
            {
                using var request = BudgetRelay.Post("/v1/chat/completions", Body);
                using var response = await hosts[i % 2].SendAsync(request);
                var text = await response.Content.ReadAsStringAsync();
                return ((int)response.StatusCode, text, response.Headers.GetValues("x-request-id").Single());
            }));
            Assert.All(results, r => Assert.True(r.Item1 == 200, r.Item2));

            var ledger = first.Ledger();
            var charges = (await ledger.GetEntriesAsync("alice", 0, 100_000)).Where(e => e.Kind == BudgetEntryKind.Charge).ToDictionary(e => e.RequestId!);
            Assert.Equal(requests, charges.Count);

            var store = first.App.Services.GetRequiredService<IUsageStore>();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            List<UsageRecord> records;
            while (true)
            {
                records = [];
                await foreach (var record in store.ReadAsync(UsageFilter.All, CancellationToken.None))
                {
                    records.Add(record);
                }

                if (records.Count >= requests)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"only {records.Count} of {requests} usage records were stored");
                await Task.Delay(50);
            }

            Assert.Equal(requests, records.Count);
            foreach (var (_, _, requestId) in results)
            {
                var record = Assert.Single(records, r => r.RequestId == requestId);
                Assert.Equal(charges[requestId].Amount, record.Cost);
                Assert.Equal(BudgetRelay.Cost(record.InputTokens!.Value, record.OutputTokens!.Value), record.Cost);
            }

            Assert.Equal(100m - charges.Values.Sum(e => e.Amount), (await ledger.GetBalanceAsync("alice"))!.Balance);
        }
        finally
        {
            await PostgreSqlTestSchema.DropAsync(connectionString, schema);
        }
    }
}
