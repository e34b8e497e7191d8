using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Settlement;

/// <summary>
/// Settles (or releases) again, in the background, the requests whose settle failed, until the ledger takes it: a
/// failed settle is first written to the <see cref="SettleSpool"/> (a local file, synced), so it is never dropped, not
/// even by a crash; the row is deleted once the ledger committed it. Rows a previous process left are landed at start.
/// </summary>
/// <remarks>
/// <para>
/// The spool is not a second source of truth for money: each row is an order to the ledger, which applies a request id
/// once and answers every later settle of it with what it charged the first time
/// (<see cref="SettlementStatus.AlreadySettled"/>). When it lands, the charge and the usage record (with that charge)
/// are written in one ledger transaction (<see cref="IBudgetLedger.SettleAsync(SettleOrder, CancellationToken)"/>), so
/// the record says what the ledger charged then, never a figure written before the charge happened.
/// </para>
/// <para>
/// A settle that lands late (after a restart, after the reservation expired and was swept, or after the lease its
/// request was held out of went with the process that held it) charges at most the request's hold and at most what is
/// available then (README "The ledger").
/// </para>
/// </remarks>
// The ledger is resolved when a settle is retried, not when the host starts: a relay that is off opens no store.
internal sealed partial class SettleRetrier(IServiceProvider services, SettleSpool spool, TimeProvider time, ILogger<SettleRetrier> logger) : BackgroundService
{
    private const int Batch = 64;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);
    // A spooled settle's reservation holds the key's balance until it lands: once the ledger is back it should land
    // within seconds, so the back-off stops at 5 s (a down ledger gets one attempt per 5 s per instance, which is cheap).
    private static readonly TimeSpan LongestRetryDelay = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, TaskCompletionSource<SettlementResult>> _waiting = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);

    // The spooled settles already reported as refused or unreadable: one error each, not one per round. Only the
    // retrier's loop touches it.
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);

    /// <summary>The settles handed over by this process and not landed yet.</summary>
    public int Pending => _waiting.Count;

    /// <summary>
    /// Hands over a settle that failed: it is written to the spool first (the task fails when even that fails), then
    /// retried until the ledger takes it. The returned task completes with the ledger's result once it lands.
    /// </summary>
    public async Task<Task<SettlementResult>> SpoolAsync(SettleOrder order)
    {
        ArgumentNullException.ThrowIfNull(order);

        // Waited for before the row exists: a round that lands it at once finds someone to tell.
        var landed = _waiting.GetOrAdd(order.RequestId, static _ => new TaskCompletionSource<SettlementResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await spool.AddAsync(order);
        }
        catch
        {
            _waiting.TryRemove(order.RequestId, out _);
            throw;
        }

        _wake.Release();
        return landed.Task;
    }

    /// <inheritdoc />
    /// <remarks>Opens the spool, so a spool path that cannot be written fails the start rather than the first outage.</remarks>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await spool.OpenOrCreateAsync();
        await base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = FirstRetryDelay;
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            bool allLanded;
            try
            {
                allLanded = await LandSpooledAsync(attempt);
            }
            catch (Exception ex)
            {
                // The spool itself could not be read (a broken disk): try again later.
                LogSpoolFailed(ex);
                allLanded = false;
            }

            try
            {
                if (allLanded)
                {
                    delay = FirstRetryDelay;
                    attempt = 0;
                    await _wake.WaitAsync(stoppingToken);
                }
                else
                {
                    await Task.Delay(delay, time, stoppingToken);
                    delay = delay * 2 > LongestRetryDelay ? LongestRetryDelay : delay * 2;
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        // Shutting down: one last try each; what does not land stays in the spool and lands at the next start.
        try
        {
            await LandSpooledAsync(attempt: 0);
        }
        catch (Exception ex)
        {
            LogSpoolFailed(ex);
        }

        foreach (var (requestId, waiting) in _waiting)
        {
            LogLeftInSpool(requestId, spool.Path ?? "memory");
            waiting.TrySetCanceled(CancellationToken.None);
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Tries every spooled settle once, oldest first; true when none is left. A store failure ends the round (the store is
    /// most likely down for all of them). A settle the ledger refuses for what it is, or a row that no longer reads, is
    /// reported once as an error and passed over, so it never holds back the settles behind it; it stays in the spool
    /// and is tried again each round.
    /// </summary>
    private async Task<bool> LandSpooledAsync(int attempt)
    {
        while (true)
        {
            var (orders, unreadable) = await spool.ReadAsync(Batch);
            foreach (var requestId in unreadable)
            {
                if (_reported.Add(requestId))
                {
                    LogUnreadable(requestId, spool.Path ?? "memory");
                }
            }

            if (orders.Count == 0 && unreadable.Count == 0)
            {
                return true;
            }

            var passedOver = unreadable.Count > 0;
            var ledger = services.GetRequiredService<IBudgetLedger>();
            foreach (var order in orders)
            {
                SettlementResult result;
                try
                {
                    result = await ledger.SettleAsync(order, CancellationToken.None);
                }
                catch (Exception ex) when (Hosting.StoreFailures.Is(ex))
                {
                    // One line per failed attempt, without the stack: the first failure was logged with it. The store is
                    // most likely down for all of them; the rest wait for the next round.
                    LogRetryFailed(order.RequestId, attempt, ex.GetType().Name, Usage.LogValue.Of(ex.Message) ?? "");
                    return false;
                }
                catch (Exception ex)
                {
                    if (_reported.Add(order.RequestId))
                    {
                        LogRefused(ex, order.RequestId);
                    }

                    passedOver = true;
                    continue;
                }

                await spool.RemoveAsync(order.RequestId);
                _reported.Remove(order.RequestId);
                LogLanded(order.RequestId, attempt, result.Charged);
                if (_waiting.TryRemove(order.RequestId, out var waiting))
                {
                    waiting.TrySetResult(result);
                }
            }

            if (passedOver)
            {
                // What was passed over is read again first: try it again after the back-off, not in a tight loop.
                return false;
            }

            if (orders.Count < Batch)
            {
                return true;
            }
        }
    }

    [LoggerMessage(5114, LogLevel.Error, "The ledger refused the spooled settle of {RequestId}; it stays in the spool, is tried again each round and does not hold back the others")]
    private partial void LogRefused(Exception exception, string requestId);

    [LoggerMessage(5115, LogLevel.Error, "The spooled settle of {RequestId} does not read as a settle (written by another version?); it stays in the spool ({Spool}) and is passed over")]
    private partial void LogUnreadable(string requestId, string spool);

    [LoggerMessage(5110, LogLevel.Information, "The settle of {RequestId} landed on attempt {Attempt}: charged {Charged}")]
    private partial void LogLanded(string requestId, int attempt, decimal charged);

    [LoggerMessage(5111, LogLevel.Warning, "Settling {RequestId} failed again (attempt {Attempt}, {ExceptionType}: {Reason}); retrying")]
    private partial void LogRetryFailed(string requestId, int attempt, string exceptionType, string reason);

    [LoggerMessage(5112, LogLevel.Warning, "Shutting down with the settle of {RequestId} not landed; it stays in the spool ({Spool}) and lands at the next start")]
    private partial void LogLeftInSpool(string requestId, string spool);

    [LoggerMessage(5113, LogLevel.Error, "Reading the settle spool failed; retrying")]
    private partial void LogSpoolFailed(Exception exception);
}
