namespace RelayKit.AspNetCore.Status.History;

/// <summary>
/// The status history's side of the request path: each attempt is counted in memory, per upstream (the provider, and
/// the provider with its model) and minute, and each breaker or probe incident is noted; <see cref="StatusHistoryWriter"/>
/// takes what gathered every few seconds and adds it to the store. Nothing here waits on the store.
/// </summary>
internal sealed class StatusHistory(TimeProvider timeProvider)
{
    // What a failing store may leave waiting, in minutes: older counts are dropped rather than grow without bound.
    private const long KeepUnwrittenMinutes = 60;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, StatusIncident> _open = new(StringComparer.Ordinal);
    private Dictionary<(string Provider, string Model, long Minute), Counts> _pending = [];
    private List<StatusIncident> _incidents = [];

    /// <summary>Counts one attempt at <paramref name="provider"/> (and at its <paramref name="model"/>, when known), timed now.</summary>
    public void RecordAttempt(string provider, string? model, bool succeeded, TimeSpan latency)
    {
        var minute = StatusResolution.MinuteOf(timeProvider.GetUtcNow());
        var bin = LatencyBins.IndexOf(latency);
        lock (_gate)
        {
            CountsAt((provider, "", minute)).Add(succeeded, bin);
            if (!string.IsNullOrEmpty(model))
            {
                CountsAt((provider, model, minute)).Add(succeeded, bin);
            }
        }
    }

    /// <summary>Starts an incident under <paramref name="key"/> unless one under it lasts already.</summary>
    public void Started(string key, string provider, string model, string kind, string title)
    {
        lock (_gate)
        {
            if (_open.ContainsKey(key))
            {
                return;
            }

            var incident = new StatusIncident(Guid.NewGuid().ToString("N"), provider, model, kind, title, timeProvider.GetUtcNow(), null);
            _open[key] = incident;
            _incidents.Add(incident);
        }
    }

    /// <summary>Ends the incident under <paramref name="key"/>, if one lasts.</summary>
    public void Ended(string key)
    {
        lock (_gate)
        {
            if (_open.Remove(key, out var incident))
            {
                _incidents.Add(incident with { EndedAt = timeProvider.GetUtcNow() });
            }
        }
    }

    /// <summary>
    /// Takes everything gathered since the last take, for the writer, and every incident that still lasts, seen now: the
    /// store's sign that this instance is alive to end it (<see cref="StatusIncident.SeenAt"/>).
    /// </summary>
    public (IReadOnlyList<StatusMinute> Minutes, IReadOnlyList<StatusIncident> Incidents) Take()
    {
        Dictionary<(string Provider, string Model, long Minute), Counts> pending;
        List<StatusIncident> incidents;
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            if (_pending.Count == 0 && _incidents.Count == 0 && _open.Count == 0)
            {
                return ([], []);
            }

            (pending, _pending) = (_pending, []);
            (incidents, _incidents) = (_incidents, []);

            // Saved by id, in order: a lasting one's fresh sighting goes after its start (a lasting one was not ended since).
            incidents.AddRange(_open.Values.Select(i => i with { SeenAt = now }));
        }

        return (pending.Select(p => new StatusMinute(p.Key.Provider, p.Key.Model, p.Key.Minute, p.Value.Successes, p.Value.Failures, p.Value.Bins)).ToList(), incidents);
    }

    /// <summary>Puts back what the store could not take, to be written with the next batch (counts of the last hour only).</summary>
    public void PutBack(IReadOnlyList<StatusMinute> minutes, IReadOnlyList<StatusIncident> incidents)
    {
        var oldest = StatusResolution.MinuteOf(timeProvider.GetUtcNow()) - KeepUnwrittenMinutes;
        lock (_gate)
        {
            foreach (var minute in minutes.Where(m => m.Minute >= oldest))
            {
                var counts = CountsAt((minute.Provider, minute.Model, minute.Minute));
                counts.Successes += minute.Successes;
                counts.Failures += minute.Failures;
                for (var i = 0; i < counts.Bins.Length; i++)
                {
                    counts.Bins[i] += minute.LatencyBins[i];
                }
            }

            // Saved by id: the later state of one incident wins, so the older ones go first. A lasting one is sent again,
            // seen anew, by every take: its put-back copies would only pile up while the store is down.
            var lasting = _open.Values.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
            _incidents.InsertRange(0, incidents.Where(i => i.EndedAt is not null || !lasting.Contains(i.Id)));
        }
    }

    /// <summary>The pending counts of one upstream's minute, made when first needed; under <see cref="_gate"/>.</summary>
    private Counts CountsAt((string Provider, string Model, long Minute) key)
    {
        if (!_pending.TryGetValue(key, out var counts))
        {
            _pending[key] = counts = new Counts();
        }

        return counts;
    }

    private sealed class Counts
    {
        public long Successes;
        public long Failures;
        public readonly long[] Bins = new long[LatencyBins.Count];

        public void Add(bool succeeded, int bin)
        {
            if (succeeded)
            {
                Successes++;
            }
            else
            {
                Failures++;
            }

            Bins[bin]++;
        }
    }
}
