namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Who is held to which limits: bound from the <c>ModelRelay</c> section, reading the limit
/// properties of its <c>Keys</c> and <c>Models</c> entries. Changes apply while running.
/// </summary>
internal sealed class RateLimitPolicyOptions
{
    /// <summary>Keys with their own limits and their per-model limits.</summary>
    public List<KeyRateLimitOptions> Keys { get; set; } = [];

    /// <summary>Models with limits shared by all keys.</summary>
    public List<ModelRateLimitOptions> Models { get; set; } = [];
}
