namespace RelayKit.AspNetCore.Budgets;

/// <summary>A key's money, as the ledger derives it.</summary>
/// <param name="KeyId">The key.</param>
/// <param name="Balance">Credits minus charges minus refunds.</param>
/// <param name="Reserved">Held by open reservations.</param>
/// <param name="FreeCredit">The part of <paramref name="Balance"/> that is unspent free credit (not refundable).</param>
/// <param name="Closed">Refunded and closed: no new reservations or credits.</param>
internal sealed record BudgetBalance(string KeyId, decimal Balance, decimal Reserved, decimal FreeCredit, bool Closed)
{
    /// <summary>What a new reservation may take.</summary>
    public decimal Available => Closed ? 0m : Balance - Reserved;

    /// <summary>
    /// Replays entries into a balance: the definition every store's running totals must agree with.
    /// Charges spend free credit first.
    /// </summary>
    public static BudgetBalance FromEntries(string keyId, IEnumerable<BudgetEntry> entries)
    {
        decimal balance = 0, reserved = 0, free = 0;
        var closed = false;
        foreach (var entry in entries.Where(e => e.KeyId == keyId).OrderBy(e => e.Sequence))
        {
            switch (entry.Kind)
            {
                case BudgetEntryKind.TopUp:
                    balance += entry.Amount;
                    break;
                case BudgetEntryKind.FreeCredit:
                    balance += entry.Amount;
                    free += entry.Amount;
                    break;
                case BudgetEntryKind.Reservation:
                    reserved += entry.Amount;
                    break;
                case BudgetEntryKind.Charge:
                    balance -= entry.Amount;
                    free = Math.Max(0m, free - entry.Amount);
                    break;
                case BudgetEntryKind.Release:
                case BudgetEntryKind.Expiry:
                    reserved -= entry.Amount;
                    break;
                case BudgetEntryKind.Refund:
                    balance -= entry.Amount;
                    closed = true;
                    break;
            }
        }

        return new BudgetBalance(keyId, balance, reserved, free, closed);
    }
}
