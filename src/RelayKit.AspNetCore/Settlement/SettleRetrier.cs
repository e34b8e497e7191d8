using Microsoft.Extensions.DependencyInjection;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Settlement;

/// <summary>
/// Settles (or releases) again, in the background, the requests whose settle failed, until the ledger takes it:
/// a failed settle is never dropped, and the usage record waits for what the ledger really charged
/// (<see cref="RelayRequestContext.PendingSettlement"/>).
/// </summary>
/// <remarks>
/// <para>
/// The pending charges are kept in memory rather than in a table of the ledger store: the settle failed because
/// that store did (an outage, a timeout), so writing the pending charge to it would fail the same way, and a
/// second store (a local file) would be a second source of truth for money. Retrying lands the charge as soon as
/// the store answers again, and exactly once: the ledger settles a request id once and answers every later settle
/// of it with what it charged the first time (<see cref="SettlementStatus.AlreadySettled"/>).
/// </para>
/// <para>
/// What a crash in the middle of an outage loses is bounded and visible: the reservation stays open in the store,
/// the expiry sweep releases it (the hold returns to the balance), and no usage record claims a charge that did
/// not happen. A settle that lands after the reservation expired charges what the balance still allows.
/// </para>
/// </remarks>
// The ledger is resolved when a settle is retried, not when the host starts: a relay that is off opens no store.
internal sealed partial class SettleRetrier(IServiceProvider services, TimeProvider time, ILogger<SettleRetrier> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LongestRetryDelay = TimeSpan.FromSeconds(30);

    private readonly Channel<PendingSettle> _pending = Channel.CreateUnbounded<PendingSettle>(new UnboundedChannelOptions { SingleReader = true });
    private int _count;

    /// <summary>The settles not landed yet.</summary>
    public int Pending => Volatile.Read(ref _count);

    /// <summary>
    /// Hands over a settle that failed: <paramref name="charge"/> to charge, or null to release. The task completes
    /// with the ledger's result once it lands.
    /// </summary>
    public Task<SettlementResult> Enqueue(string requestId, decimal? charge)
    {
        var pending = new PendingSettle(requestId, charge, new TaskCompletionSource<SettlementResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        Interlocked.Increment(ref _count);
        if (!_pending.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _count);
            pending.Landed.TrySetCanceled();
        }

        return pending.Landed.Task;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var pending in _pending.Reader.ReadAllAsync(stoppingToken))
            {
                await LandAsync(pending, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: each settle still pending gets one last try below.
        }

        _pending.Writer.TryComplete();
        while (_pending.Reader.TryRead(out var left))
        {
            if (!await TryOnceAsync(left, attempt: 0))
            {
                LogGivenUp(left.RequestId, left.Charge);
                Interlocked.Decrement(ref _count);
                left.Landed.TrySetCanceled(CancellationToken.None);
            }
        }
    }

    private async Task LandAsync(PendingSettle pending, CancellationToken stoppingToken)
    {
        var delay = FirstRetryDelay;
        for (var attempt = 2; ; attempt++)
        {
            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                // Shutting down: the drain in ExecuteAsync gives it its last try.
                _pending.Writer.TryWrite(pending);
                throw;
            }

            if (await TryOnceAsync(pending, attempt))
            {
                return;
            }

            delay = delay * 2 > LongestRetryDelay ? LongestRetryDelay : delay * 2;
        }
    }

    private async Task<bool> TryOnceAsync(PendingSettle pending, int attempt)
    {
        try
        {
            var result = pending.Charge is { } charge
                ? await services.GetRequiredService<IBudgetLedger>().SettleAsync(pending.RequestId, charge, CancellationToken.None)
                : await services.GetRequiredService<IBudgetLedger>().ReleaseAsync(pending.RequestId, CancellationToken.None);
            Interlocked.Decrement(ref _count);
            LogLanded(pending.RequestId, attempt, result.Charged);
            pending.Landed.TrySetResult(result);
            return true;
        }
        catch (Exception ex)
        {
            // One line per failed attempt, without the stack: the first failure was logged with it.
            LogRetryFailed(pending.RequestId, attempt, ex.GetType().Name, Usage.LogValue.Of(ex.Message) ?? "");
            return false;
        }
    }

    private sealed record PendingSettle(string RequestId, decimal? Charge, TaskCompletionSource<SettlementResult> Landed);

    [LoggerMessage(5110, LogLevel.Information, "The settle of {RequestId} landed on attempt {Attempt}: charged {Charged}")]
    private partial void LogLanded(string requestId, int attempt, decimal charged);

    [LoggerMessage(5111, LogLevel.Warning, "Settling {RequestId} failed again (attempt {Attempt}, {ExceptionType}: {Reason}); retrying")]
    private partial void LogRetryFailed(string requestId, int attempt, string exceptionType, string reason);

    [LoggerMessage(5112, LogLevel.Error, "Shutting down with the settle of {RequestId} ({Charge}) not landed; the expiry sweep releases its reservation")]
    private partial void LogGivenUp(string requestId, decimal? charge);
}
