using System.Text.Json.Serialization;
using RelayKit.AspNetCore.Admin;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// <c>GET /relay/usage</c>: one key's balance (null without budgets or an account), its totals by day, by model and
/// by day and model over <see cref="From"/> to <see cref="To"/> (UTC days, <c>yyyy-MM-dd</c>), its recent requests, and the
/// operator's refund policy (<see cref="RelayBillingOptions"/>) as plain text.
/// </summary>
internal sealed record KeyUsageView(
    string Key,
    string Currency,
    string From,
    string To,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] BalanceView? Balance,
    IReadOnlyList<UsageTotalsView> ByDay,
    IReadOnlyList<UsageTotalsView> ByModel,
    IReadOnlyList<UsageTotalsView> Daily,
    IReadOnlyList<UsageRequestView> Recent,
    string RefundPolicy);
