namespace RelayKit.Testing.State;

/// <summary>
/// The chat completions and responses one fake keeps, oldest first, at most a fixed number: storing one
/// more forgets the oldest, so a fake that serves a load test holds bounded memory.
/// </summary>
internal sealed class AnswerStore(int capacity)
{
    private readonly Lock _gate = new();
    private readonly OrderedDictionary<string, StoredAnswer> _answers = new(StringComparer.Ordinal);
    private long _sequence;

    public int Capacity { get; } = Math.Max(0, capacity);

    public void Add(StoredAnswer answer)
    {
        if (Capacity == 0)
        {
            return;
        }

        lock (_gate)
        {
            answer.Sequence = ++_sequence;
            _answers[answer.Id] = answer;
            while (_answers.Count > Capacity)
            {
                _answers.RemoveAt(0);
            }
        }
    }

    public StoredAnswer? Find(FakeEndpoint endpoint, string id)
    {
        lock (_gate)
        {
            return _answers.TryGetValue(id, out var answer) && answer.Endpoint == endpoint ? answer : null;
        }
    }

    public bool Remove(FakeEndpoint endpoint, string id)
    {
        lock (_gate)
        {
            return _answers.TryGetValue(id, out var answer) && answer.Endpoint == endpoint && _answers.Remove(id);
        }
    }

    /// <summary>Runs <paramref name="change"/> under the store's lock, for reads and writes of an answer's mutable parts.</summary>
    public T Locked<T>(Func<T> change)
    {
        lock (_gate)
        {
            return change();
        }
    }

    public List<StoredAnswer> List(FakeEndpoint endpoint)
    {
        lock (_gate)
        {
            return _answers.Values.Where(a => a.Endpoint == endpoint).ToList();
        }
    }

    public IReadOnlyList<FakeStoredAnswer> Snapshot()
    {
        lock (_gate)
        {
            return _answers.Values.Select(a => new FakeStoredAnswer(a.Id, a.Endpoint, a.Model, a.StoredAt, new Dictionary<string, string>(a.Metadata), a.Json)).ToList();
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _answers.Clear();
        }
    }
}
