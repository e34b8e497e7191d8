namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The rate-limit view of one entry of <c>ModelRelay:Keys</c>: the key's own limits, how long its
/// requests may wait instead of being rejected, and its limits per model.
/// </summary>
/// <remarks>
/// The relay core owns the full key entry (secret, budget, allowed models); this type binds only the
/// properties rate limiting needs from the same configuration, and the binder ignores the rest.
/// </remarks>
internal sealed class KeyRateLimitOptions : RateLimitOptions
{
    /// <summary>The key's name (never its secret).</summary>
    public string Name { get; set; } = "";

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
    public Dictionary<string, RateLimitOptions> ModelLimits { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
