namespace RelayKit.AspNetCore.Budgets;

/// <summary>The outcome of settling or releasing a reservation.</summary>
internal enum SettlementStatus
{
    /// <summary>This call charged (or released) the reservation.</summary>
    Applied,

    /// <summary>An earlier call settled or released it; nothing changed.</summary>
    AlreadySettled,

    /// <summary>There is no reservation with this request id.</summary>
    NotFound,
}
