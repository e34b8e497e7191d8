namespace RelayKit.AspNetCore.Budgets;

/// <summary>Where a reservation is in its life.</summary>
internal enum ReservationState
{
    /// <summary>Held; waiting for the response.</summary>
    Open,

    /// <summary>Charged and its hold released.</summary>
    Settled,

    /// <summary>Released without a charge (the upstream failed before any output).</summary>
    Released,

    /// <summary>Never settled in time; released by the expiry sweep. A late settle still charges.</summary>
    Expired,
}
