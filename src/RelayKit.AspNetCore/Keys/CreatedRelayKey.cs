namespace RelayKit.AspNetCore.Keys;

/// <summary>
/// A relay key created at run time through the operations API. Only the SHA-256 of its secret is kept;
/// the secret itself was shown once, to whoever created the key.
/// </summary>
/// <param name="Id">The key's id: its ledger account and the name logs and usage records show.</param>
/// <param name="Name">A label chosen by the operator.</param>
/// <param name="SecretSha256">SHA-256 of the UTF-8 secret.</param>
/// <param name="Models">The model names and patterns the key may use; empty means every model.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="ExpiresAt">When it stops working, if ever.</param>
/// <param name="RevokedAt">When it was revoked, if it was.</param>
/// <param name="ClosedAt">When its balance was refunded and it was closed, if it was.</param>
internal sealed record CreatedRelayKey(
    string Id,
    string Name,
    byte[] SecretSha256,
    IReadOnlyList<string> Models,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ClosedAt)
{
    /// <summary>Whether a caller may authenticate with the key at <paramref name="now"/>.</summary>
    public bool IsUsableAt(DateTimeOffset now) =>
        RevokedAt is null && ClosedAt is null && (ExpiresAt is not { } expires || now < expires);

    /// <summary>The key's state at <paramref name="now"/>: active, expired, revoked or closed.</summary>
    public string StateAt(DateTimeOffset now) =>
        ClosedAt is not null ? "closed"
        : RevokedAt is not null ? "revoked"
        : ExpiresAt is { } expires && now >= expires ? "expired"
        : "active";
}
