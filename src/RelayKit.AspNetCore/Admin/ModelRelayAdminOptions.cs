namespace RelayKit.AspNetCore;

/// <summary>
/// The operations API's settings (<c>ModelRelay:Admin</c>). The endpoints are protected by the host's
/// authorization policy on <c>MapModelRelayAdmin()</c>, by an admin key set here, or both.
/// </summary>
public sealed class ModelRelayAdminOptions
{
    /// <summary>
    /// An admin key that callers of the operations API send as <c>Authorization: Bearer</c>. When this or
    /// <see cref="KeySha256"/> is set, every operations request must carry it.
    /// </summary>
    public string? Key { get; set; }

    /// <summary>The SHA-256 of the UTF-8 admin key as 64 hexadecimal digits, to keep the key out of configuration.</summary>
    public string? KeySha256 { get; set; }

    /// <summary>Free trial credit, in US dollars, that every created key receives (never refunded). Default 0: none.</summary>
    public decimal TrialCredit { get; set; }

    /// <summary>
    /// How long the request path trusts a created key it looked up before reading the store again. A
    /// revoke through another relay instance takes effect within this time. Default 30 seconds; zero reads the store on every request.
    /// </summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(30);
}
