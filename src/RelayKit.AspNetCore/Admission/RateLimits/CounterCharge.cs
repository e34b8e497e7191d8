namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// A requests- or tokens-per-minute counter a request was charged against, kept to correct the charge later (tokens,
/// to the actual usage) or to give it back (both, when the request never went upstream).
/// </summary>
/// <param name="CounterId">The rule's counter id.</param>
/// <param name="Limit">The per-minute limit when the charge was made.</param>
internal readonly record struct CounterCharge(string CounterId, long Limit);
