namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Whose limit a rule is.</summary>
internal enum RateLimitScope
{
    /// <summary>One caller key, across all models.</summary>
    Key,

    /// <summary>One model (or model pattern), across all keys.</summary>
    Model,

    /// <summary>One key on one model (or model pattern).</summary>
    KeyModel,
}
