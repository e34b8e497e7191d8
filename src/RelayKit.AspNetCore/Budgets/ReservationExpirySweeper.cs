using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// Releases reservations that were never settled: at start (the previous process may have crashed
/// with requests in flight) and then every <see cref="BudgetStorageOptions.ExpirySweepInterval"/>.
/// </summary>
internal sealed partial class ReservationExpirySweeper : BackgroundService
{
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILogger<ReservationExpirySweeper> _logger;
    private readonly bool _off;

    /// <summary>Creates the sweeper.</summary>
    public ReservationExpirySweeper(
        IServiceProvider services, TimeProvider time, BudgetStorageOptions options, ILogger<ReservationExpirySweeper> logger, IOptions<ModelRelayOptions>? relay = null)
    {
        _off = relay?.Value.Enabled == false;
        _services = services;
        _time = time;
        _interval = options.ExpirySweepInterval;
        _logger = logger;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // With the relay off nothing reserves, and the ledger's store is not even opened.
        if (_off)
        {
            return;
        }

        // Resolved here, not in the constructor: with the relay off the store is never even created.
        var ledger = _services.GetRequiredService<IBudgetLedger>();
        using var timer = new PeriodicTimer(_interval, _time);
        do
        {
            try
            {
                await ledger.ReleaseExpiredAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // A database outage must not stop the sweeper; the next tick tries again.
                LogSweepFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Sweeping expired budget reservations failed.")]
    private partial void LogSweepFailed(Exception exception);
}
