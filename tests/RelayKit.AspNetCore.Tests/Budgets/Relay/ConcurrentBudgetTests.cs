using System.Globalization;
using System.Net;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// 200 requests at once against a balance that covers only some of them: while every admitted stream is
/// held open upstream, exactly as many are admitted as the balance covers, the rest are refused, and the
/// ledger adds up afterwards — on each ledger store.
/// </summary>
public sealed class ConcurrentBudgetTests
{
    private const int Requests = 200;
    private const int Covered = 37;
    private const string Body = """{"model":"gpt-5.5","max_tokens":500,"stream":true,"messages":[{"role":"user","content":"Count to three."}]}""";

    [Fact]
    public Task In_memory_ledger_is_never_overspent() => RunAsync(_ => { });

    [Fact]
    public Task Sqlite_ledger_is_never_overspent() => SqliteLedgerFile.RunAsync(RunAsync);

    [SkippableFact]
    public Task Postgres_ledger_is_never_overspent()
    {
        // 200 requests must not open 200 connections: other tests share the server's max_connections (100).
        var connectionString = TestServers.RequirePostgres() + ";Maximum Pool Size=30";
        return RunAsync(s =>
        {
            s["ModelRelay:Budgets:Store"] = "PostgreSql";
            s["ModelRelay:Budgets:PostgreSqlConnectionString"] = connectionString;
            s["ModelRelay:Budgets:PostgreSqlSchema"] = "rk_budget_" + Guid.NewGuid().ToString("N")[..12];
        });
    }

    private static async Task RunAsync(Action<Dictionary<string, string?>> storage)
    {
        // The worst case of the body, from the dry run, fixes the balance: 37 and a half reservations.
        decimal reservation;
        await using (var probe = BudgetRelay.Create(1m))
        {
            reservation = await BudgetRelay.EstimateAsync(probe.App.CreateClient(), "chat/completions", Body);
        }

        var budget = (reservation * Covered) + (reservation / 2);
        await using var relay = BudgetRelay.Create(budget, storage);
        var gate = new FakeStreamGate();
        relay.Fake.Setup().HoldAfterEvents(1, gate);
        var http = relay.App.CreateClient();

        var refusedAll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refused = 0;
        var calls = Enumerable.Range(0, Requests).Select(async _ =>
        {
            using var request = BudgetRelay.Post("/v1/chat/completions", Body);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                if (Interlocked.Increment(ref refused) == Requests - Covered)
                {
                    refusedAll.TrySetResult();
                }

                return (response.StatusCode, Text: await response.Content.ReadAsStringAsync());
            }

            return (response.StatusCode, Text: await response.Content.ReadAsStringAsync());
        }).ToList();

        // Every admitted stream waits at the gate, holding its reservation, until all the others were refused.
        await refusedAll.Task.WaitAsync(TimeSpan.FromSeconds(30));
        gate.Release();
        var results = await Task.WhenAll(calls);

        var served = results.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        Assert.Equal(Covered, served.Count);
        Assert.All(served, r => Assert.Contains("data: [DONE]", r.Text, StringComparison.Ordinal));
        Assert.All(results.Where(r => r.StatusCode != HttpStatusCode.OK), r =>
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
            Assert.Contains("insufficient_quota", r.Text, StringComparison.Ordinal);
        });
        Assert.Equal(Covered, relay.Fake.Requests.Count);

        // Settlement runs after each answer ended; wait until nothing is held any more.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        var (credited, charged, held) = await relay.SumsAsync();
        while (held != 0m && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            (credited, charged, held) = await relay.SumsAsync();
        }

        Assert.Equal(0m, held);
        Assert.Equal(budget, credited);
        Assert.True(charged > 0m && charged <= budget, charged.ToString(CultureInfo.InvariantCulture));
        var balance = await relay.Ledger().GetBalanceAsync("alice");
        Assert.Equal(credited - charged, balance!.Balance);
        Assert.Equal(0m, balance.Reserved);
    }
}
