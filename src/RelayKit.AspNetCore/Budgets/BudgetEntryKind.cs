namespace RelayKit.AspNetCore.Budgets;

/// <summary>What a ledger entry records. Amounts are always positive; the kind gives the direction.</summary>
internal enum BudgetEntryKind
{
    /// <summary>Money paid in; adds to the balance. Carries the payment's idempotency reference.</summary>
    TopUp,

    /// <summary>Free (trial) credit; adds to the balance, is spent first and is never refunded.</summary>
    FreeCredit,

    /// <summary>A request's worst-case cost held against the balance; the balance itself is unchanged.</summary>
    Reservation,

    /// <summary>What a request cost; subtracts from the balance. Written with the release of its hold.</summary>
    Charge,

    /// <summary>A reservation's whole hold handed back, when it is settled or released.</summary>
    Release,

    /// <summary>A reservation that was never settled (a crash) released by the expiry sweep.</summary>
    Expiry,

    /// <summary>Unused paid balance paid back; the account is closed.</summary>
    Refund,
}
