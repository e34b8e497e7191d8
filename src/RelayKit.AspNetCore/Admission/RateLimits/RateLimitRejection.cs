namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Why a request was not admitted, and when it may try again.</summary>
/// <param name="Dimension">The limit that was reached.</param>
/// <param name="Scope">Whose limit it was.</param>
/// <param name="RetryAfter">
/// When a retry can pass that limit; <see langword="null"/> when it never can, because the request's
/// estimated tokens exceed the whole tokens-per-minute limit.
/// </param>
internal sealed record RateLimitRejection(RateLimitDimension Dimension, RateLimitScope Scope, TimeSpan? RetryAfter)
{
    /// <summary>Whether the request is larger than the limit itself, so waiting cannot help.</summary>
    public bool RequestTooLarge => RetryAfter is null;

    /// <summary>The rejection that takes longer to clear; a request that can never fit beats any wait.</summary>
    public static RateLimitRejection Worse(RateLimitRejection? current, RateLimitRejection candidate)
    {
        if (current is null)
        {
            return candidate;
        }

        if (current.RetryAfter is not { } currentWait)
        {
            return current;
        }

        return candidate.RetryAfter is not { } candidateWait || candidateWait > currentWait ? candidate : current;
    }
}
