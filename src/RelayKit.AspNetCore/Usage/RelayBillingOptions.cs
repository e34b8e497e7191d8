using System.ComponentModel.DataAnnotations;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// What the billing part of <c>/relay/usage</c> tells a key holder, bound from the relay section's <c>Billing</c>
/// subsection (<c>ModelRelay:Billing:RefundPolicy</c>).
/// </summary>
internal sealed class RelayBillingOptions
{
    /// <summary>
    /// What the ledger does on a refund, said in the words a key holder reads: it must match
    /// <see cref="Budgets.BudgetLedger.RefundAsync"/> (balance minus open reservations minus unspent free credit, then the
    /// account closes) and the admin refund (made by the operator; a second refund under a new reference pays out what
    /// requests in flight left).
    /// </summary>
    public const string DefaultRefundPolicy =
        "Refunds are made by the operator of this relay, on request. A refund pays back your unused paid balance: " +
        "what your top-ups have left after charges, less what requests still in flight hold, less any unspent free credit.\n" +
        "Free credit is spent before paid balance and is never paid back.\n" +
        "A refund closes the key: it can make no more requests and take no more top-ups, but its usage and billing stay readable here. " +
        "Requests still running when the key is refunded are charged as they finish; what they leave unspent can be refunded afterwards.\n" +
        "Each top-up and refund is applied once under its reference, which is listed with it above.";

    /// <summary>
    /// The operator's refund policy, shown verbatim as text (line breaks kept); unset or blank shows
    /// <see cref="DefaultRefundPolicy"/>.
    /// </summary>
    [MaxLength(20_000)]
    public string? RefundPolicy { get; set; }

    /// <summary>The text the page shows.</summary>
    public string EffectiveRefundPolicy => string.IsNullOrWhiteSpace(RefundPolicy) ? DefaultRefundPolicy : RefundPolicy;
}
