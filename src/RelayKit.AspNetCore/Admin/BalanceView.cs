using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Admin;

/// <summary>A key's money in US dollars.</summary>
internal sealed record BalanceView(decimal Balance, decimal Reserved, decimal Available, decimal FreeCredit, bool Closed)
{
    public static BalanceView From(BudgetBalance balance) =>
        new(balance.Balance, balance.Reserved, balance.Available, balance.FreeCredit, balance.Closed);
}
