namespace RelayKit.AspNetCore.Admin;

/// <summary>The answer to a top-up or refund: <c>applied</c> by this call or <c>already_applied</c> by an earlier one with the same reference.</summary>
internal sealed record CreditView(string KeyId, string Reference, string Status, decimal Amount, decimal? Balance);
