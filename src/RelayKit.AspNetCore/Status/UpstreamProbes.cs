using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Status;

/// <summary>
/// Probes each provider that has <c>Providers:&lt;name&gt;:Probe</c> every <see cref="ModelRelayProbeOptions.Interval"/>
/// (the first one interval after the start, or after a configuration reload): a cheap model list with each of its keys,
/// through the provider's own client (<see cref="UpstreamClientNames"/>) and with its headers and key as the forwarder
/// sends them. Each result goes to <see cref="UpstreamHealthTracker"/> (shown on the status page, never counted as
/// traffic: no usage record, metric, span or charge) and to the breakers of that key, one per model the provider
/// serves in the current route table (<see cref="UpstreamSelection.CountProbeAsync"/>).
/// </summary>
/// <remarks>
/// A hosted service of its own rather than a <c>BackgroundService</c>: each provider's <see cref="PeriodicTimer"/> on
/// the relay's <see cref="TimeProvider"/> is made within <see cref="StartAsync"/>, so the schedule starts with the host
/// (and a test's fake clock counts from there).
/// </remarks>
internal sealed partial class UpstreamProbes(
    IHttpMessageHandlerFactory handlers,
    ModelRouter router,
    UpstreamSelection selection,
    UpstreamHealthTracker health,
    IOptionsMonitor<ModelRelayOptions> options,
    TimeProvider timeProvider,
    ILogger<UpstreamProbes> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, bool> _lastOk = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly List<(string Provider, TaskCompletionSource<UpstreamProbe> Done)> _waiters = [];
    private Task _run = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _run = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _run.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>Completes with the next probe of <paramref name="provider"/> once it is recorded and counted by the breakers (for tests).</summary>
    internal Task<UpstreamProbe> NextProbeAsync(string provider)
    {
        var done = new TaskCompletionSource<UpstreamProbe>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters.Add((provider, done));
        }

        return done.Task;
    }

    /// <summary>
    /// Runs every configured provider's probe loop until the configuration changes, then starts them again from the new
    /// configuration; until the host stops. Everything up to the first wait runs within the caller (StartAsync).
    /// </summary>
    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (options.OnChange((_, _) => reloaded.TrySetResult()))
            using (var loops = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                var running = Start(loops.Token);
                try
                {
                    await reloaded.Task.WaitAsync(stopping);
                }
                catch (OperationCanceledException)
                {
                    // Stopping.
                }

                await loops.CancelAsync();
                await Task.WhenAll(running);
            }
        }
    }

    /// <summary>One loop per probed provider of the current configuration (none when the relay is off or the configuration is invalid).</summary>
    private List<Task> Start(CancellationToken cancellationToken)
    {
        ModelRelayOptions current;
        try
        {
            current = options.CurrentValue;
        }
        catch (OptionsValidationException)
        {
            return []; // reported where the configuration is used; probes resume with a valid one
        }

        if (!current.Enabled)
        {
            return [];
        }

        return [.. current.Providers
            .Where(p => p.Value?.Probe is not null)
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => LoopAsync(p.Key, p.Value.Probe!, cancellationToken))];
    }

    private async Task LoopAsync(string provider, ModelRelayProbeOptions probe, CancellationToken cancellationToken)
    {
        // Made before the first wait, so within StartAsync for the providers configured at the start.
        using var timer = new PeriodicTimer(probe.Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await ProbeAsync(provider, probe.EffectiveTimeout, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A probe must never end the loop (nor the host): the next tick tries again.
                    LogProbeError(ex, LogValue.Of(provider)!);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped, or restarted for a new configuration.
        }
    }

    /// <summary>Probes each key of the provider at once, records the probe and counts each key's outcome in that key's breakers.</summary>
    private async Task ProbeAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var table = router.Table;
        if (!table.Providers.TryGetValue(name, out var provider))
        {
            return;
        }

        List<ModelUpstream> upstreams = [.. table.Entries.SelectMany(e => e.Upstreams).Where(u => ReferenceEquals(u.Provider, provider))];
        var keys = await Task.WhenAll(Enumerable.Range(0, provider.KeyCount)
            .Select(key => ProbeKeyAsync(provider, key, upstreams, timeout, cancellationToken)));
        var probe = new UpstreamProbe(timeProvider.GetUtcNow(), keys);
        health.RecordProbe(provider.Name, probe);
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (string.Equals(_waiters[i].Provider, provider.Name, StringComparison.OrdinalIgnoreCase))
                {
                    _waiters[i].Done.TrySetResult(probe);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private async Task<UpstreamProbeResult> ProbeKeyAsync(
        UpstreamProvider provider, int key, List<ModelUpstream> upstreams, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        int? status = null;
        string? error = null;
        using (var cancel = new CancellationTokenSource(timeout, timeProvider))
        using (cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), cancel))
        {
            using var request = CreateRequest(provider, key);

            // The handler comes from IHttpClientFactory (pooled and rotated there), so the invoker must not dispose it.
            using var invoker = new HttpMessageInvoker(handlers.CreateHandler(UpstreamClientNames.For(provider.Name)), disposeHandler: false);
            try
            {
                using var response = await invoker.SendAsync(request, cancel.Token);
                status = cancel.IsCancellationRequested ? null : (int)response.StatusCode;
                error = status is null ? "timeout" : null;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                error = "timeout";
            }
            catch (HttpRequestException)
            {
                error = "unreachable";
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var latency = timeProvider.GetElapsedTime(started);
        var ok = status is >= 200 and < 300;
        var result = new UpstreamProbeResult(provider.KeyName(key), ok, status, error, latency);
        Report(result);

        // What would fail a request fails the breakers; a 4xx (a revoked key, say) is shown but, as for a request, is
        // the request's and not the upstream's.
        var failed = status is not { } answered || UpstreamSelection.CountsAgainstBreaker(answered);
        await selection.CountProbeAsync(upstreams, key, failed, cancellationToken);
        return result;
    }

    /// <summary><c>GET {BaseUrl}/models</c> (OpenAI: the base URL has <c>/v1</c>) or <c>GET {BaseUrl}/v1/models</c> (Anthropic).</summary>
    private static HttpRequestMessage CreateRequest(UpstreamProvider provider, int key)
    {
        var path = provider.Format == WireFormat.Anthropic ? "v1/models" : "models";
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(provider.BaseUri, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        provider.AddProviderHeaders(request, key);
        return request;
    }

    /// <summary>Logs a key's probe when its outcome changes (the first failure, the first success after failures), not every tick.</summary>
    private void Report(UpstreamProbeResult result)
    {
        var before = _lastOk.TryGetValue(result.Key, out var wasOk) ? wasOk : (bool?)null;
        _lastOk[result.Key] = result.Ok;
        if (!result.Ok && before != false)
        {
            LogProbeFailed(LogValue.Of(result.Key)!, result.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? result.Error!);
        }
        else if (result.Ok && before == false)
        {
            LogProbeRecovered(LogValue.Of(result.Key)!);
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Probe of upstream {Upstream} failed ({Outcome})")]
    private partial void LogProbeFailed(string upstream, string outcome);

    [LoggerMessage(2, LogLevel.Information, "Probe of upstream {Upstream} succeeded again")]
    private partial void LogProbeRecovered(string upstream);

    [LoggerMessage(3, LogLevel.Error, "Probing provider {Provider} failed")]
    private partial void LogProbeError(Exception exception, string provider);
}
