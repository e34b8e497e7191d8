using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RelayKit.AspNetCore.Usage;

/// <summary>Reports whether the usage store can be reached.</summary>
internal sealed class UsageStoreHealthCheck : IHealthCheck
{
    private readonly IUsageStore _store;

    public UsageStoreHealthCheck(IUsageStore store) => _store = store;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await _store.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy("The usage store is reachable.");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The description names the failure's type only: driver messages can carry host names and paths.
            return new HealthCheckResult(
                context.Registration.FailureStatus,
                $"The usage store is unreachable ({exception.GetType().Name}).",
                exception);
        }
    }
}
