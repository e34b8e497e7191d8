namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Finds the limits a request of a key on a model is held to. The default reads configuration;
/// the relay core may supply one that reads its key store instead.
/// </summary>
internal interface IRateLimitPolicySource
{
    /// <summary>The limits for <paramref name="keyName"/> calling <paramref name="model"/>, read fresh on every call.</summary>
    RateLimitPolicy GetPolicy(string keyName, string model);
}
