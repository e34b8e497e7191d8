namespace RelayKit.AspNetCore.Admin;

/// <summary>The body of <c>POST {prefix}/keys</c>.</summary>
internal sealed record CreateKeyRequest(string? Name, IReadOnlyList<string>? Models, DateTimeOffset? ExpiresAt, decimal? Credit, string? CreditReference);
