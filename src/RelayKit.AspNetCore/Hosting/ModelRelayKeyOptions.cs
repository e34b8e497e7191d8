using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.AspNetCore;

/// <summary>
/// A relay key: what a caller sends as <c>Authorization: Bearer</c> or <c>x-api-key</c>. Configure
/// either its <see cref="Secret"/> or, to keep the secret out of configuration, its <see cref="SecretSha256"/>.
/// Its rate limits (<see cref="RateLimitOptions"/>) count all its requests.
/// </summary>
public sealed class ModelRelayKeyOptions : RateLimitOptions
{
    /// <summary>The key's name, used in logs and usage records instead of the secret. Required and unique.</summary>
    public string? Name { get; set; }

    /// <summary>The key's secret as callers send it.</summary>
    public string? Secret { get; set; }

    /// <summary>The SHA-256 hash of the UTF-8 secret as 64 hexadecimal digits (<c>printf %s "$SECRET" | sha256sum</c>).</summary>
    public string? SecretSha256 { get; set; }

    /// <summary>
    /// The models this key may use, as names or wildcard patterns (<c>gpt-*</c>); empty means every configured model.
    /// </summary>
    public IList<string> Models { get; } = new List<string>();

    /// <summary>
    /// How long a request of this key may wait for a free slot or for its rate limits to refill
    /// before it is rejected. Zero (the default) rejects at once.
    /// </summary>
    public TimeSpan QueueTimeout { get; set; }

    /// <summary>
    /// Limits of this key on particular models, by model name or by a pattern with <c>*</c>
    /// (<c>"gpt-*"</c>). A pattern is one limit shared by every model it matches; when several entries
    /// match a model, the exact name wins, then the longest pattern.
    /// </summary>
    public IDictionary<string, RateLimitOptions> ModelLimits { get; } = new Dictionary<string, RateLimitOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The key's pre-paid balance in US dollars, credited once when the key is first used (ledger reference
    /// <c>initial:&lt;name&gt;</c>). Unset: the key is unmetered (no reservation, no charge).
    /// </summary>
    public decimal? Budget { get; set; }
}
