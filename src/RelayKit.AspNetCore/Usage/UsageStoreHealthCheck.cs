using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Usage;

/// <summary>Reports whether the usage store can be reached.</summary>
internal sealed class UsageStoreHealthCheck : IHealthCheck
{
    private readonly IUsageStore _store;
    private readonly bool _off;
    private readonly string _settingsPath;

    public UsageStoreHealthCheck(IUsageStore store, IOptions<ModelRelayOptions>? relay = null, Hosting.RelaySection? section = null)
    {
        _store = store;
        _off = relay?.Value.Enabled == false;
        _settingsPath = (section ?? Hosting.RelaySection.Default).Path;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_off)
        {
            // Pinging would open (create) the store of a relay that is out of the path.
            return HealthCheckResult.Healthy($"The relay is off ({_settingsPath}:Enabled=false); its usage store is not used.");
        }

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
