using System.Text.Json;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Admin;

/// <summary>One ledger entry as the operations API shows it; <see cref="Kind"/> in snake_case (<c>top_up</c>, <c>free_credit</c>).</summary>
internal sealed record LedgerEntryView(long Sequence, string Kind, decimal Amount, string? RequestId, string? Reference, decimal? ReportedCost, DateTimeOffset At)
{
    public static LedgerEntryView From(BudgetEntry entry) =>
        new(entry.Sequence, JsonNamingPolicy.SnakeCaseLower.ConvertName(entry.Kind.ToString()), entry.Amount, entry.RequestId, entry.Reference, entry.ReportedCost, entry.At);
}
