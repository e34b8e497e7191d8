using RelayKit.AspNetCore.Settlement;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Step 7 for rate limits: corrects the tokens charged to what the upstream reported (the estimate
/// stays when it reported nothing) and frees the request's concurrency slots.
/// </summary>
internal sealed class RateLimitSettlement(IRelayRateLimiter limiter) : IRelaySettlement
{
    public async ValueTask SettleAsync(RelayRequestContext context)
    {
        if (context.RateLimitLease is not { } lease)
        {
            return;
        }

        try
        {
            if (context.ReportedUsage is { } usage && lease.TokenCharges.Count > 0)
            {
                await limiter.CorrectTokensAsync(lease, usage.TotalInputTokens + usage.OutputTokens, CancellationToken.None);
            }
        }
        finally
        {
            await lease.DisposeAsync();
        }
    }
}
