using BenchmarkDotNet.Attributes;
using RelayKit.AspNetCore.Admission.RateLimits;

namespace RelayKit.Benchmarks;

/// <summary>Step 4: acquire requests-per-minute, tokens-per-minute and a concurrency slot, then release the slot.</summary>
[MemoryDiagnoser]
public class RateLimiterBenchmarks
{
    private InProcessRelayRateLimiter _limiter = null!;

    [GlobalSetup]
    public void Setup()
    {
        var policy = new RelayKit.AspNetCore.ModelRelayOptions();
        policy.Keys.Add(new RelayKit.AspNetCore.ModelRelayKeyOptions
        {
            Name = "bench",
            RequestsPerMinute = int.MaxValue,
            TokensPerMinute = long.MaxValue / 4,
            MaxConcurrentRequests = 10_000,
        });
        _limiter = new InProcessRelayRateLimiter(
            new ConfiguredRateLimitPolicySource(new StaticOptionsMonitor<RelayKit.AspNetCore.ModelRelayOptions>(policy)),
            new StaticOptionsMonitor<RelayRateLimitsOptions>(new RelayRateLimitsOptions()),
            TimeProvider.System);
    }

    [Benchmark(Description = "acquire (RPM + TPM + concurrency) + release")]
    public async Task<bool> AcquireAndRelease()
    {
        var lease = await _limiter.AcquireAsync("bench", BenchRequests.Model, 1_200);
        var acquired = lease.IsAcquired;
        await lease.DisposeAsync();
        return acquired;
    }

    [Benchmark(Description = "acquire, key without limits")]
    public async Task<bool> AcquireUnlimited()
    {
        var lease = await _limiter.AcquireAsync("unlimited", BenchRequests.Model, 1_200);
        await lease.DisposeAsync();
        return lease.IsAcquired;
    }
}
