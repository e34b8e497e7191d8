namespace RelayKit.AspNetCore.Budgets;

/// <summary>The outcome of a top-up, free credit or refund.</summary>
internal enum CreditStatus
{
    /// <summary>This call wrote it.</summary>
    Applied,

    /// <summary>The reference was used before for the same key and kind (a redelivered webhook); nothing changed.</summary>
    AlreadyApplied,

    /// <summary>The reference was used before for another key, kind or amount; nothing changed.</summary>
    ReferenceConflict,

    /// <summary>The account is closed; nothing changed.</summary>
    AccountClosed,

    /// <summary>The key has no account; nothing changed.</summary>
    AccountNotFound,

    /// <summary>The credit would take the balance past <see cref="BudgetLedger.MaxBalance"/>; nothing changed.</summary>
    OverMaximum,
}
