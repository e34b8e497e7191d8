namespace RelayKit.AspNetCore.Admin;

/// <summary>The body of <c>POST {prefix}/keys/{id}/topups</c>: the payment's amount and its id, the idempotency reference.</summary>
internal sealed record TopUpRequest(decimal? Amount, string? Reference);
