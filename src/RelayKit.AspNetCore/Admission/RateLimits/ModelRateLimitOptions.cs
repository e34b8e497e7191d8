namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The rate-limit view of one entry of <c>ModelRelay:Models</c>: limits shared by every key that
/// uses the model, which keep the relay inside the upstream's own limits.
/// </summary>
internal sealed class ModelRateLimitOptions : RateLimitOptions
{
    /// <summary>The model name, or a pattern with <c>*</c> whose limit all matching models share.</summary>
    public string Name { get; set; } = "";
}
