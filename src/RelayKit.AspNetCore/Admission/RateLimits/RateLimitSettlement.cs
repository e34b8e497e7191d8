using RelayKit.AspNetCore.Settlement;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Step 7 for rate limits: corrects the tokens charged to what the upstream reported (the estimate
/// stays when it reported nothing), gives back the request and its tokens when it never went upstream
/// (a later admission step refused it: a rejected request uses up none of the limits), and frees the
/// request's concurrency slots. The leases of fallback models the request reached are settled too: the model
/// that answered is charged the tokens reported, one that did not answer keeps the request but none of its tokens.
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
            await SettleFallbacksAsync(context);
        }
    }

    private async ValueTask SettleFallbacksAsync(RelayRequestContext context)
    {
        if (context.FallbackRateLimitLeases is not { } fallbacks)
        {
            return;
        }

        var answeredAs = context.Upstream?.RequestedAs;
        foreach (var (model, lease) in fallbacks)
        {
            try
            {
                if (lease.TokenCharges.Count == 0)
                {
                    continue;
                }

                if (!string.Equals(model, answeredAs, StringComparison.OrdinalIgnoreCase))
                {
                    // Reached, but another road gave the answer: that model's tokens are counted there.
                    await limiter.CorrectTokensAsync(lease, 0, CancellationToken.None);
                }
                else if (context.ReportedUsage is { } usage)
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
}
