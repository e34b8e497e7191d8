using System.Net;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>Two relay hosts on one PostgreSQL ledger: one balance, credited once, never overspent between them.</summary>
public sealed class SharedLedgerTests
{
    private const string Body = """{"model":"gpt-5.5","max_tokens":500,"stream":true,"messages":[{"role":"user","content":"Count to three."}]}""";

    [SkippableFact]
    public async Task Two_hosts_share_one_balance()
    {
        // 200 requests must not open 200 connections: other tests share the server's max_connections (100).
        var connectionString = TestServers.RequirePostgres() + ";Maximum Pool Size=30";
        var schema = "rk_shared_" + Guid.NewGuid().ToString("N")[..12];
        decimal reservation;
        await using (var probe = BudgetRelay.Create(1m))
        {
            reservation = await BudgetRelay.EstimateAsync(probe.App.CreateClient(), "chat/completions", Body);
        }

        const int covered = 5;
        var budget = decimal.Round((reservation * covered) + (reservation / 3), RelayKit.AspNetCore.Budgets.BudgetLedger.AmountScale);
        void Shared(Dictionary<string, string?> s)
        {
            s["ModelRelay:Budgets:Store"] = "PostgreSql";
            s["ModelRelay:Budgets:PostgreSqlConnectionString"] = connectionString;
            s["ModelRelay:Budgets:PostgreSqlSchema"] = schema;
        }

        await using var first = BudgetRelay.Create(budget, Shared);
        await using var second = BudgetRelay.Create(budget, Shared);
        var gate = new FakeStreamGate();
        first.Fake.Setup().HoldAfterEvents(1, gate);
        second.Fake.Setup().HoldAfterEvents(1, gate);
        var hosts = new[] { first.App.CreateClient(), second.App.CreateClient() };

        var refusedAll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refused = 0;
        const int requests = 24;
        var calls = Enumerable.Range(0, requests).Select(async i =>
        {
            using var request = BudgetRelay.Post("/v1/chat/completions", Body);
            using var response = await hosts[i % 2].SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK && Interlocked.Increment(ref refused) == requests - covered)
            {
                refusedAll.TrySetResult();
            }

            await response.Content.ReadAsStringAsync();
            return response.StatusCode;
        }).ToList();

        await refusedAll.Task.WaitAsync(TimeSpan.FromSeconds(30));
        gate.Release();
        var statuses = await Task.WhenAll(calls);

        Assert.Equal(covered, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(covered, first.Fake.Requests.Count + second.Fake.Requests.Count);
        Assert.True(first.Fake.Requests.Count > 0 || second.Fake.Requests.Count > 0);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        var (credited, charged, held) = await first.SumsAsync();
        while (held != 0m && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            (credited, charged, held) = await first.SumsAsync();
        }

        // Both hosts opened the key on first use; the initial credit landed once.
        Assert.Equal(budget, credited);
        Assert.Equal(0m, held);
        Assert.True(charged > 0m && charged <= budget);
        Assert.Equal(credited - charged, (await second.Ledger().GetBalanceAsync("alice"))!.Balance);
    }
}
