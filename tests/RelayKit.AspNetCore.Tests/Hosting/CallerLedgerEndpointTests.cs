using System.Globalization;
using System.Text.Json;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary><c>GET /v1/relay/ledger</c>: a key holder's own top-ups, free credit and refunds, with their references, paged.</summary>
public sealed class CallerLedgerEndpointTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":50,"messages":[{"role":"user","content":"hello ledger"}]}""";

    [Fact]
    public async Task A_key_reads_its_own_credits_and_refund_with_references_and_never_another_keys_or_its_charges()
    {
        await using var relay = BudgetRelay.Create(1m, s => s["ModelRelay:Keys:1:Budget"] = "3");
        using var http = relay.App.CreateClient();
        using (var chat = BudgetRelay.Post("/v1/chat/completions", ChatBody))
        using (var answer = await http.SendAsync(chat))
        {
            Assert.True(answer.IsSuccessStatusCode);
            await relay.SettledAsync(answer.Headers.GetValues("x-request-id").Single());
        }

        var ledger = relay.Ledger();
        Assert.Equal(CreditStatus.Applied, (await ledger.TopUpAsync("alice", 2.5m, "pay_alice_1")).Status);
        Assert.Equal(CreditStatus.Applied, (await ledger.TopUpAsync("bob", 4m, "pay_bob_1")).Status);
        Assert.Equal(CreditStatus.Applied, (await ledger.GrantFreeCreditAsync("alice", 0.5m, "trial:alice")).Status);
        var refund = await ledger.RefundAsync("alice", "refund_alice_1");
        Assert.Equal(CreditStatus.Applied, refund.Status);

        // The refunded (closed) key still reads its ledger.
        var (status, body, _) = await RawRelayCall.GetAsync(http, "v1/relay/ledger", bearer: RelaySettings.AliceKey);

        Assert.Equal(200, status);
        Assert.Equal("alice", body.GetProperty("key_id").GetString());
        var entries = body.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(["initial:alice", "pay_alice_1", "trial:alice", "refund_alice_1"], entries.Select(e => e.GetProperty("reference").GetString()));
        Assert.Equal(["top_up", "top_up", "free_credit", "refund"], entries.Select(e => e.GetProperty("kind").GetString()));
        Assert.Equal([1m, 2.5m, 0.5m, refund.Amount], entries.Select(e => e.GetProperty("amount").GetDecimal()));
        Assert.True(refund.Amount is > 2.5m and < 3.5m, $"the refund pays back paid money only, not the free credit: {refund.Amount}");
        var stored = await ledger.GetEntriesAsync("alice");
        Assert.Contains(stored, e => e.Kind == BudgetEntryKind.Charge);
        Assert.Equal(
            stored.Where(e => e.Reference is not null).Select(e => e.At),
            entries.Select(e => DateTimeOffset.Parse(e.GetProperty("at").GetString()!, CultureInfo.InvariantCulture)));
        Assert.False(body.TryGetProperty("next_after", out _));

        var (bobStatus, bobBody, _) = await RawRelayCall.GetAsync(http, "v1/relay/ledger", apiKey: RelaySettings.BobKey);
        Assert.Equal(200, bobStatus);
        Assert.Equal("bob", bobBody.GetProperty("key_id").GetString());
        Assert.Equal(["pay_bob_1"], bobBody.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("reference").GetString()));
    }

    [Fact]
    public async Task Without_a_valid_key_the_ledger_is_refused_with_401()
    {
        await using var relay = BudgetRelay.Create(1m);
        using var http = relay.App.CreateClient();

        var (missing, body, _) = await RawRelayCall.GetAsync(http, "v1/relay/ledger");
        var (wrong, _, _) = await RawRelayCall.GetAsync(http, "v1/relay/ledger", bearer: "rk-not-a-key");

        Assert.Equal(401, missing);
        Assert.Equal(401, wrong);
        Assert.Equal("invalid_api_key", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_ledger_pages_by_sequence_and_refuses_a_bad_page_request()
    {
        await using var relay = BudgetRelay.Create(1m);
        using var http = relay.App.CreateClient();
        var ledger = relay.Ledger();
        for (var i = 1; i <= 5; i++)
        {
            await ledger.TopUpAsync("alice", i, "pay_" + i.ToString(CultureInfo.InvariantCulture));
        }

        var references = new List<string>();
        string path = "v1/relay/ledger?limit=2";
        var pages = 0;
        while (true)
        {
            var (status, body, _) = await RawRelayCall.GetAsync(http, path, bearer: RelaySettings.AliceKey);
            Assert.Equal(200, status);
            pages++;
            var entries = body.GetProperty("entries").EnumerateArray().ToList();
            Assert.True(entries.Count <= 2);
            references.AddRange(entries.Select(e => e.GetProperty("reference").GetString()!));
            if (!body.TryGetProperty("next_after", out var next))
            {
                break;
            }

            Assert.Equal(JsonValueKind.Number, next.ValueKind);
            path = "v1/relay/ledger?limit=2&after=" + next.GetInt64().ToString(CultureInfo.InvariantCulture);
        }

        Assert.Equal(["pay_1", "pay_2", "pay_3", "pay_4", "pay_5"], references);
        Assert.Equal(3, pages);

        var (tooMany, error, _) = await RawRelayCall.GetAsync(http, "v1/relay/ledger?limit=1001", bearer: RelaySettings.AliceKey);
        var (negative, _, _) = await RawRelayCall.GetAsync(http, "v1/relay/ledger?after=-1", bearer: RelaySettings.AliceKey);
        Assert.Equal(400, tooMany);
        Assert.Equal(400, negative);
        Assert.Contains("limit", error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
