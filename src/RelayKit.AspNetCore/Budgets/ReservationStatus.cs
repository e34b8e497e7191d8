namespace RelayKit.AspNetCore.Budgets;

/// <summary>The outcome of a reservation attempt.</summary>
internal enum ReservationStatus
{
    /// <summary>The amount is held.</summary>
    Granted,

    /// <summary>The available balance is smaller than the amount; nothing is held.</summary>
    InsufficientBalance,

    /// <summary>The key has no account (it was never credited); nothing is held.</summary>
    AccountNotFound,

    /// <summary>The account was refunded and closed; nothing is held.</summary>
    AccountClosed,

    /// <summary>A reservation with this request id exists already; nothing new is held.</summary>
    DuplicateRequest,
}
