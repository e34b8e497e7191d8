using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>The refund policy in <c>/relay/usage</c>'s JSON: the operator's text verbatim, or a default that says what the ledger does.</summary>
public sealed class RefundPolicyTests
{
    [Fact]
    public async Task Without_a_configured_policy_the_default_says_paid_balance_is_refunded_and_free_credit_is_not_as_the_ledger_does()
    {
        await using var relay = BudgetRelay.Create(1m, s => s["ModelRelay:Billing:RefundPolicy"] = "");
        using var http = relay.App.CreateClient();

        var (status, body, _) = await RawRelayCall.GetAsync(http, "relay/usage", bearer: RelaySettings.AliceKey);

        Assert.Equal(200, status);
        var policy = body.GetProperty("refund_policy").GetString();
        Assert.Equal(RelayBillingOptions.DefaultRefundPolicy, policy);
        Assert.Contains("unused paid balance", policy, StringComparison.Ordinal);
        Assert.Contains("Free credit is spent before paid balance and is never paid back.", policy, StringComparison.Ordinal);

        // What the default claims, on the ledger this relay runs: free credit spent first, the refund pays back paid money
        // only, less what is held, and the key is closed.
        var ledger = relay.Ledger();
        await ledger.TopUpAsync("carol", 2m, "pay_carol");
        await ledger.GrantFreeCreditAsync("carol", 0.5m, "trial:carol");
        Assert.Equal(ReservationStatus.Granted, (await ledger.TryReserveAsync("carol", "req-1", 0.75m, TimeProvider.System.GetUtcNow().AddHours(1))).Status);
        await ledger.SettleAsync("req-1", 0.25m);
        Assert.Equal(ReservationStatus.Granted, (await ledger.TryReserveAsync("carol", "req-2", 0.5m, TimeProvider.System.GetUtcNow().AddHours(1))).Status);
        var refund = await ledger.RefundAsync("carol", "refund_carol");
        Assert.Equal(2m - 0.5m, refund.Amount); // 2.25 left, 0.25 of it free credit, 0.5 held
        Assert.Equal(ReservationStatus.AccountClosed, (await ledger.TryReserveAsync("carol", "req-3", 0.01m, TimeProvider.System.GetUtcNow().AddHours(1))).Status);
        Assert.Equal(CreditStatus.AccountClosed, (await ledger.TopUpAsync("carol", 1m, "pay_carol_2")).Status);
    }

    [Fact]
    public async Task A_configured_policy_is_returned_verbatim_hostile_text_and_line_breaks_included()
    {
        const string Policy = "Refunds within 14 days.\r\nWrite to <script>alert(\"x\")</script> & 'billing'\nThanks";
        await using var relay = BudgetRelay.Create(1m, s => s["ModelRelay:Billing:RefundPolicy"] = Policy);
        using var http = relay.App.CreateClient();

        var (status, body, _) = await RawRelayCall.GetAsync(http, "relay/usage", apiKey: RelaySettings.AliceKey);

        Assert.Equal(200, status);
        Assert.Equal(Policy, body.GetProperty("refund_policy").GetString());
    }
}
