using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Usage;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// Settle retried after real relayed requests (one settled before its response started, one streamed and
/// settled after it): neither the settlement step nor the ledger charges twice, and nothing in the ledger moves.
/// </summary>
public sealed class SettleRetriedTests
{
    private const decimal Budget = 1m;
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":200,"messages":[{"role":"user","content":"Tell me about budgets."}]}""";

    [Fact]
    public Task Retried_settle_charges_once_on_SQLite() => SqliteLedgerFile.RunAsync(RetriedSettleChargesOnceAsync);

    [SkippableFact]
    public async Task Retried_settle_charges_once_on_PostgreSQL()
    {
        var connectionString = TestServers.RequirePostgres() + ";Maximum Pool Size=10";
        var schema = "rk_retry_" + Guid.NewGuid().ToString("N")[..12];
        await RetriedSettleChargesOnceAsync(s =>
        {
            s["ModelRelay:Budgets:Store"] = "PostgreSql";
            s["ModelRelay:Budgets:PostgreSqlConnectionString"] = connectionString;
            s["ModelRelay:Budgets:PostgreSqlSchema"] = schema;
        });
    }

    private static async Task RetriedSettleChargesOnceAsync(Action<Dictionary<string, string?>> storage)
    {
        await using var relay = BudgetRelay.Create(Budget, storage);
        var http = relay.App.CreateClient();
        var ledger = relay.Ledger();

        using var plain = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var plainResponse = await http.SendAsync(plain);
        await plainResponse.Content.ReadAsStringAsync();
        using var streamed = BudgetRelay.Post("/v1/chat/completions", ChatBody.Replace("\"max_tokens\":200,", "\"max_tokens\":200,\"stream\":true,", StringComparison.Ordinal));
        using var streamedResponse = await http.SendAsync(streamed);
        await streamedResponse.Content.ReadAsStringAsync();

        var requestIds = new[] { plainResponse, streamedResponse }.Select(r => r.Headers.GetValues("x-request-id").Single()).ToList();
        var reservations = new List<BudgetReservation>();
        foreach (var requestId in requestIds)
        {
            reservations.Add(await relay.SettledAsync(requestId));
        }

        var balance = await ledger.GetBalanceAsync("alice");
        var entries = await ledger.GetEntriesAsync("alice");
        Assert.Equal(Budget - reservations.Sum(r => r.Charged), balance!.Balance);
        Assert.Equal(decimal.Parse(plainResponse.Headers.GetValues("x-relaykit-balance-remaining").Single(), CultureInfo.InvariantCulture),
            Budget - reservations[0].Charged);

        var settlement = relay.App.Services.GetRequiredService<BudgetSettlement>();
        var candidate = relay.App.Services.GetRequiredService<ModelRouter>().Table.Resolve("gpt-5.5")[0];
        foreach (var reservation in reservations)
        {
            Assert.Equal(ReservationState.Settled, reservation.State);
            var charged = reservation.Charged!.Value;
            Assert.True(charged > 0m);

            // The settlement step run again for the same request, as a retry would, with usage that would cost more.
            using var retry = RetryContext(reservation, candidate);
            await settlement.SettleAsync(retry);
            Assert.Equal(charged, retry.ChargedCost);
            Assert.Equal(BudgetAdmission.FormatMoney(charged), retry.HttpContext.Response.Headers[BudgetSettlement.ChargedHeader].ToString());
            await settlement.SettleAsync(retry);
            Assert.Equal(charged, retry.ChargedCost);

            // The ledger asked directly, with another amount, and to release instead.
            var again = await ledger.SettleAsync(reservation.RequestId, charged * 2);
            Assert.Equal(SettlementStatus.AlreadySettled, again.Status);
            Assert.Equal(charged, again.Charged);
            Assert.Equal(SettlementStatus.AlreadySettled, (await ledger.ReleaseAsync(reservation.RequestId)).Status);

            Assert.Equal(charged, (await ledger.GetReservationAsync(reservation.RequestId))!.Charged);
        }

        Assert.Equal(balance, await ledger.GetBalanceAsync("alice"));
        Assert.Equal(entries, await ledger.GetEntriesAsync("alice"));
        foreach (var requestId in requestIds)
        {
            Assert.Single(entries, e => e.RequestId == requestId && e.Kind == BudgetEntryKind.Charge);
        }

        // The non-streamed request settled before its response started, and step 7 did not settle it again:
        // one usage record, with the charge.
        var records = await UsageRecordsAsync(relay.App.Services.GetRequiredService<IUsageStore>(), requestIds[0]);
        Assert.Equal(reservations[0].Charged, Assert.Single(records).Cost);
    }

    private static RelayRequestContext RetryContext(BudgetReservation reservation, UpstreamCandidate candidate)
    {
        var http = new DefaultHttpContext();
        return new RelayRequestContext(http, RelayOperation.ChatCompletions, WireFormat.OpenAI, reservation.RequestId, reservation.CreatedAt)
        {
            BudgetHold = new BudgetHold("alice", new CostEstimate(100, 200, reservation.Amount, false, true, false)),
            HeldAnswer = new CommunityToolkit.HighPerformance.Buffers.ArrayPoolBufferWriter<byte>(),
            Candidates = [candidate],
            Upstream = candidate,
            ReportedUsage = new TokenUsage(10_000, 0, 0, 10_000),
        };
    }

    /// <summary>The request's usage records, waiting (bounded) for the background writer.</summary>
    private static async Task<List<UsageRecord>> UsageRecordsAsync(IUsageStore store, string requestId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var records = (await store.GetRecentAsync("alice", 100, CancellationToken.None)).Where(r => r.RequestId == requestId).ToList();
            if (records.Count > 0 || DateTime.UtcNow > deadline)
            {
                return records;
            }

            await Task.Delay(10);
        }
    }
}
