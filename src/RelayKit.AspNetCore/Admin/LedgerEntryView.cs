using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Admin;

/// <summary>One ledger entry as the operations API shows it.</summary>
internal sealed record LedgerEntryView(long Sequence, BudgetEntryKind Kind, decimal Amount, string? RequestId, string? Reference, decimal? ReportedCost, DateTimeOffset At)
{
    public static LedgerEntryView From(BudgetEntry entry) =>
        new(entry.Sequence, entry.Kind, entry.Amount, entry.RequestId, entry.Reference, entry.ReportedCost, entry.At);
}
