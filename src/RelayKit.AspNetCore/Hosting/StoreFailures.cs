using System.Data.Common;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// Tells a store outage (the ledger, usage or key store unreachable, timing out, refusing) from a relay bug, and logs
/// it without flooding: the first failure with its exception, then at most one line a minute, without a stack,
/// counting the requests it failed meanwhile. Every request path that reaches a store answers such a failure with
/// <see cref="Protocols.RelayError.StoreUnavailable"/>, a retryable 503.
/// </summary>
internal sealed partial class StoreFailures(TimeProvider time, ILogger<StoreFailures> logger)
{
    /// <summary>How long a caller is told to wait before retrying (<c>retry-after</c>).</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Quiet = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private DateTimeOffset? _lastLogged;
    private int _unlogged;

    /// <summary>
    /// Whether <paramref name="exception"/> (or one it wraps) is a store's: a database error (<see cref="DbException"/>:
    /// Npgsql's, SQLite's), a timeout, or a socket refused or reset on the way to one.
    /// </summary>
    public static bool Is(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is DbException or TimeoutException or SocketException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="exception"/> says the store could not be asked right now (a broken or timed-out connection,
    /// a busy file), as opposed to a refusal of what was asked (a constraint, an overflow): asked again later, it may pass.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is TimeoutException or SocketException or IOException || current is DbException { IsTransient: true })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs an endpoint of the relay's own (balance, request cost, estimate) and answers a store failure in it as the
    /// request path does: 503 <c>store_unavailable</c> with <c>retry-after</c>, in the caller's format.
    /// </summary>
    public static async Task GuardAsync(HttpContext http, string operation, Func<HttpContext, Task> endpoint)
    {
        try
        {
            await endpoint(http);
        }
        catch (Exception ex) when (!http.Response.HasStarted && Is(ex))
        {
            http.RequestServices.GetRequiredService<StoreFailures>().Log(ex, operation, http.TraceIdentifier);
            Admission.RateLimits.RateLimitHeaderWriter.WriteRetryAfter(http.Response.Headers, RetryAfter);
            var format = http.Request.Headers.ContainsKey("anthropic-version") ? WireFormat.Anthropic : WireFormat.OpenAI;
            await RelayErrorWriter.WriteAsync(http, format, RelayError.StoreUnavailable(http.TraceIdentifier));
        }
    }

    /// <summary>Logs one store failure of <paramref name="requestId"/>, as the class describes.</summary>
    public void Log(Exception exception, string operation, string requestId)
    {
        var now = time.GetUtcNow();
        int repeats;
        bool first;
        lock (_lock)
        {
            if (_lastLogged is { } last && now - last < Quiet)
            {
                _unlogged++;
                return;
            }

            first = _lastLogged is null;
            repeats = _unlogged;
            _unlogged = 0;
            _lastLogged = now;
        }

        if (first)
        {
            LogFirst(exception, operation, requestId);
        }
        else
        {
            LogAgain(operation, requestId, exception.GetType().Name, Usage.LogValue.Of(exception.Message) ?? "", repeats);
        }
    }

    [LoggerMessage(6, LogLevel.Warning, "A store the relay needs failed on {Operation} ({RequestId}); answering 503 store_unavailable until it is back")]
    private partial void LogFirst(Exception exception, string operation, string requestId);

    [LoggerMessage(7, LogLevel.Warning, "A store the relay needs failed on {Operation} ({RequestId}): {ExceptionType}: {Reason}; {Repeats} more requests were answered 503 store_unavailable since the last such line")]
    private partial void LogAgain(string operation, string requestId, string exceptionType, string reason, int repeats);
}
