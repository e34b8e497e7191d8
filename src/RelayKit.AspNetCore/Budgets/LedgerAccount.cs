namespace RelayKit.AspNetCore.Budgets;

/// <summary>A store's running totals for one key; always equal to replaying its entries.</summary>
internal sealed record LedgerAccount(string KeyId, decimal Balance, decimal Reserved, decimal FreeCredit, bool Closed)
{
    public BudgetBalance ToBalance() => new(KeyId, Balance, Reserved, FreeCredit, Closed);
}
