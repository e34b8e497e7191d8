namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>A tokens-per-minute counter a request was charged against, kept to correct the charge later.</summary>
/// <param name="CounterId">The rule's counter id.</param>
/// <param name="Limit">The tokens-per-minute limit when the charge was made.</param>
internal readonly record struct TokenCharge(string CounterId, long Limit);
