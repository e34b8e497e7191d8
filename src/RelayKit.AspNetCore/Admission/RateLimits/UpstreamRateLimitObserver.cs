using System.Net;
using RelayKit.AspNetCore.Forwarding;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>Records an upstream's 429 in <see cref="UpstreamCooldown"/>, so the next requests leave it alone.</summary>
internal sealed class UpstreamRateLimitObserver(RelayRequestContext context, UpstreamCooldown cooldown) : IResponseBodyObserver
{
    public void OnResponseStarted(HttpResponseMessage response)
    {
        if (response.StatusCode == HttpStatusCode.TooManyRequests && context.Upstream is { } upstream)
        {
            cooldown.RecordRateLimitedResponse(upstream.Provider.Name, response.Headers);
        }
    }

    public void OnBodyChunk(ReadOnlySpan<byte> chunk)
    {
    }

    public void OnResponseEnded(bool completed)
    {
    }
}
