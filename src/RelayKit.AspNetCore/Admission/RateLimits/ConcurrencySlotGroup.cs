using System.Threading.RateLimiting;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>The in-process concurrency leases of one request, released together.</summary>
internal sealed class ConcurrencySlotGroup : IAsyncDisposable
{
    private readonly List<RateLimitLease> _leases;

    public ConcurrencySlotGroup(List<RateLimitLease> leases)
    {
        _leases = leases;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var lease in _leases)
        {
            lease.Dispose();
        }

        _leases.Clear();
        return default;
    }
}
