namespace RelayKit.AspNetCore.Status;

/// <summary>
/// One upstream's traffic over the last day in fixed rings, so memory stays bounded however much
/// traffic flows: success and failure counts per minute (1,440 slots) and latency bins per five
/// minutes (288 slots of <see cref="LatencyBins.Count"/> counters). A slot is reset when reused for a new period.
/// </summary>
internal sealed class ProviderHealthState
{
    public const int MinuteSlots = 1440;
    public const int LatencySlotMinutes = 5;
    public const int LatencySlots = MinuteSlots / LatencySlotMinutes;

    private readonly Lock _gate = new();
    private readonly long[] _minuteOf = new long[MinuteSlots];
    private readonly int[] _successes = new int[MinuteSlots];
    private readonly int[] _failures = new int[MinuteSlots];
    private readonly long[] _latencySlotOf = new long[LatencySlots];
    private readonly long[] _latencyCounts = new long[LatencySlots * LatencyBins.Count];
    private readonly TimeSpan[] _latencyMin = new TimeSpan[LatencySlots];
    private readonly TimeSpan[] _latencyMax = new TimeSpan[LatencySlots];
    private DateTimeOffset? _lastSuccess;
    private DateTimeOffset? _lastFailure;
    private int _consecutiveFailures;
    private UpstreamProbe? _lastProbe;
    private int _probeFailuresInARow;

    // Whether the probe came after the last attempt: the later of the two is the last-known state.
    private bool _probeIsLatest;

    public ProviderHealthState(string provider)
    {
        Provider = provider;
        Array.Fill(_minuteOf, -1);
        Array.Fill(_latencySlotOf, -1);
    }

    public string Provider { get; }

    public void Record(DateTimeOffset now, bool succeeded, TimeSpan latency)
    {
        var minute = MinuteOf(now);
        var latencySlot = minute / LatencySlotMinutes;
        lock (_gate)
        {
            var m = (int)(minute % MinuteSlots);
            if (_minuteOf[m] != minute)
            {
                _minuteOf[m] = minute;
                _successes[m] = 0;
                _failures[m] = 0;
            }

            _probeIsLatest = false;
            if (succeeded)
            {
                _successes[m]++;
                _lastSuccess = now;
                _consecutiveFailures = 0;
                _probeFailuresInARow = 0; // it answered since those probes
            }
            else
            {
                _failures[m]++;
                _lastFailure = now;
                _consecutiveFailures++;
            }

            var l = (int)(latencySlot % LatencySlots);
            var bins = _latencyCounts.AsSpan(l * LatencyBins.Count, LatencyBins.Count);
            if (_latencySlotOf[l] != latencySlot)
            {
                _latencySlotOf[l] = latencySlot;
                bins.Clear();
                _latencyMin[l] = TimeSpan.MaxValue;
                _latencyMax[l] = TimeSpan.Zero;
            }

            bins[LatencyBins.IndexOf(latency)]++;
            _latencyMin[l] = latency < _latencyMin[l] ? latency : _latencyMin[l];
            _latencyMax[l] = latency > _latencyMax[l] ? latency : _latencyMax[l];
        }
    }

    /// <summary>Records a probe of the provider (not traffic: it counts in no window, only in the health it shows without traffic).</summary>
    public void RecordProbe(UpstreamProbe probe)
    {
        lock (_gate)
        {
            _lastProbe = probe;
            _probeFailuresInARow = probe.Ok ? 0 : _probeFailuresInARow + 1;
            _probeIsLatest = true;
        }
    }

    public UpstreamHealthReport Report(DateTimeOffset now, UpstreamHealthOptions options)
    {
        lock (_gate)
        {
            var recentMinutes = Math.Max(1, (int)Math.Ceiling(options.RecentWindow.TotalMinutes));
            var (recentAttempts, recentFailures) = Counts(now, recentMinutes);
            var health = recentAttempts == 0
                ? _lastProbe is { } probe && now - probe.At <= options.RecentWindow ? Probed(options) : Idle(options)
                : _consecutiveFailures >= options.MinimumAttempts
                  || (recentAttempts >= options.MinimumAttempts && (double)recentFailures / recentAttempts >= options.DownErrorRate)
                    ? UpstreamHealth.Down
                    : (double)recentFailures / recentAttempts >= options.DegradedErrorRate
                        ? UpstreamHealth.Degraded
                        : UpstreamHealth.Healthy;

            return new UpstreamHealthReport(
                Provider,
                health,
                Window(now, 60, options),
                Window(now, MinuteSlots, options),
                _lastSuccess,
                _lastFailure,
                _consecutiveFailures,
                recentAttempts,
                _lastProbe);
        }
    }

    /// <summary>
    /// The health of an upstream without traffic in the recent window but probed in it: healthy when the last probe
    /// succeeded, down after <see cref="UpstreamHealthOptions.MinimumAttempts"/> failed probes in a row, degraded before.
    /// </summary>
    private UpstreamHealth Probed(UpstreamHealthOptions options) =>
        _probeFailuresInARow == 0 ? UpstreamHealth.Healthy
        : _probeFailuresInARow >= options.MinimumAttempts ? UpstreamHealth.Down
        : UpstreamHealth.Degraded;

    /// <summary>
    /// The health of an upstream with neither traffic nor a probe in the recent window: what its last attempts (or its
    /// last probes, when one came after them) said. Idle when the last one succeeded, down or degraded when the last ones
    /// failed, unknown only when none was ever made.
    /// </summary>
    private UpstreamHealth Idle(UpstreamHealthOptions options)
    {
        if (_probeIsLatest)
        {
            return _probeFailuresInARow == 0 ? UpstreamHealth.Idle
                : _probeFailuresInARow >= options.MinimumAttempts ? UpstreamHealth.Down
                : UpstreamHealth.Degraded;
        }

        return _lastSuccess is null && _lastFailure is null ? UpstreamHealth.Unknown
            : _consecutiveFailures == 0 ? UpstreamHealth.Idle
            : _consecutiveFailures >= options.MinimumAttempts ? UpstreamHealth.Down
            : UpstreamHealth.Degraded;
    }

    private static long MinuteOf(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 60_000;

    /// <summary>Attempts and failures in the last <paramref name="minutes"/> minutes, the current one included.</summary>
    private (long Attempts, long Failures) Counts(DateTimeOffset now, int minutes)
    {
        var current = MinuteOf(now);
        long attempts = 0, failures = 0;
        for (var minute = current - minutes + 1; minute <= current; minute++)
        {
            var m = (int)(minute % MinuteSlots);
            if (minute >= 0 && _minuteOf[m] == minute)
            {
                attempts += _successes[m] + _failures[m];
                failures += _failures[m];
            }
        }

        return (attempts, failures);
    }

    private UpstreamWindowStats Window(DateTimeOffset now, int minutes, UpstreamHealthOptions options)
    {
        var current = MinuteOf(now);
        long attempts = 0, failures = 0;
        int minutesWithTraffic = 0, minutesUp = 0;
        for (var minute = current - minutes + 1; minute <= current; minute++)
        {
            var m = (int)(minute % MinuteSlots);
            if (minute < 0 || _minuteOf[m] != minute)
            {
                continue;
            }

            var total = _successes[m] + _failures[m];
            attempts += total;
            failures += _failures[m];
            if (total > 0)
            {
                minutesWithTraffic++;
                if ((double)_failures[m] / total < options.DownErrorRate)
                {
                    minutesUp++;
                }
            }
        }

        // Latency slots are five minutes wide: the window covers every slot it touches.
        Span<long> bins = stackalloc long[LatencyBins.Count];
        long samples = 0;
        TimeSpan min = TimeSpan.MaxValue, max = TimeSpan.Zero;
        var currentSlot = current / LatencySlotMinutes;
        var firstSlot = (current - minutes + 1) / LatencySlotMinutes;
        for (var slot = firstSlot; slot <= currentSlot; slot++)
        {
            var l = (int)(slot % LatencySlots);
            if (slot < 0 || _latencySlotOf[l] != slot)
            {
                continue;
            }

            var slotBins = _latencyCounts.AsSpan(l * LatencyBins.Count, LatencyBins.Count);
            for (var i = 0; i < bins.Length; i++)
            {
                bins[i] += slotBins[i];
                samples += slotBins[i];
            }

            min = _latencyMin[l] < min ? _latencyMin[l] : min;
            max = _latencyMax[l] > max ? _latencyMax[l] : max;
        }

        return new UpstreamWindowStats(
            TimeSpan.FromMinutes(minutes),
            attempts,
            failures,
            attempts == 0 ? null : (double)failures / attempts,
            minutesWithTraffic == 0 ? null : (double)minutesUp / minutesWithTraffic,
            LatencyBins.Percentile(bins, samples, 0.50, min, max),
            LatencyBins.Percentile(bins, samples, 0.95, min, max),
            LatencyBins.Percentile(bins, samples, 0.99, min, max));
    }
}
