namespace RelayKit.AspNetCore.Budgets;

/// <summary>The outcome of <see cref="IBudgetLedger.TryReserveAsync"/>.</summary>
/// <param name="Status">Granted or why not.</param>
/// <param name="Available">The available balance after the attempt.</param>
internal sealed record ReservationResult(ReservationStatus Status, decimal Available)
{
    /// <summary>The amount is held.</summary>
    public bool Granted => Status == ReservationStatus.Granted;
}
