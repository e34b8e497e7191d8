using RelayKit.AspNetCore.Settlement;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Step 7 for rate limits: corrects the tokens charged to what the upstream reported (the estimate
/// stays when it reported nothing), gives back the request and its tokens when it never went upstream
/// (a later admission step refused it: a rejected request uses up none of the limits), and frees the
/// request's concurrency slots.
/// </summary>
internal sealed class RateLimitSettlement(IRelayRateLimiter limiter) : IRelaySettlement
{
    public async ValueTask SettleAsync(RelayRequestContext context)
    {
        // Only an admitted request's lease is kept on the context (a refused one took nothing).
        if (context.RateLimitLease is not { } lease)
        {
            return;
        }

        try
        {
            if (!context.ForwardStarted)
            {
                await limiter.ReturnAsync(lease, CancellationToken.None);
            }
            else if (context.ReportedUsage is { } usage && lease.TokenCharges.Count > 0)
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
