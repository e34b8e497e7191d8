namespace RelayKit.LoadBench;

/// <summary>Collects the samples of one phase from many concurrent requests.</summary>
internal sealed class PhaseRecorder
{
    private readonly Lock _gate = new();
    private readonly List<long> _latencies = new(64 * 1024);
    private readonly List<long> _firstBytes = new(64 * 1024);
    private readonly Dictionary<string, int> _errors = new(StringComparer.Ordinal);
    private int _completed;

    public int Completed => Volatile.Read(ref _completed);

    public void Add(Sample sample)
    {
        lock (_gate)
        {
            if (sample.Ok)
            {
                _latencies.Add(sample.Latency);
                _firstBytes.Add(sample.FirstByte);
            }
            else
            {
                _errors[sample.Error ?? "error"] = _errors.GetValueOrDefault(sample.Error ?? "error") + 1;
            }
        }

        Interlocked.Increment(ref _completed);
    }

    /// <summary>Adds every sample of <paramref name="other"/> (one round's) to this recorder (the phase's).</summary>
    public void AddFrom(PhaseRecorder other)
    {
        var (latencies, firstBytes, errors) = other.Snapshot();
        lock (_gate)
        {
            _latencies.AddRange(latencies);
            _firstBytes.AddRange(firstBytes);
            foreach (var (error, count) in errors)
            {
                _errors[error] = _errors.GetValueOrDefault(error) + count;
            }
        }

        Interlocked.Add(ref _completed, other.Completed);
    }

    public (long[] Latencies, long[] FirstBytes, IReadOnlyDictionary<string, int> Errors) Snapshot()
    {
        lock (_gate)
        {
            return ([.. _latencies], [.. _firstBytes], new Dictionary<string, int>(_errors));
        }
    }
}
