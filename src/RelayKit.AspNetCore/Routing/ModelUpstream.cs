namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// One upstream of a model entry (<c>Models:&lt;name&gt;:Upstreams</c>, or the entry's <c>Provider</c>): a provider, the
/// model name it knows, its priority and weight, and what the relay learns of it while it runs: requests in flight, the
/// weighted turn, and a breaker per provider key.
/// </summary>
internal sealed class ModelUpstream(UpstreamProvider provider, string? upstreamModel, int priority, int weight)
{
    private string[]? _breakerNames;

    private UpstreamBreaker?[]? _breakers;

    public UpstreamProvider Provider { get; } = provider;

    public string? UpstreamModel { get; } = upstreamModel;

    public int Priority { get; } = priority;

    public int Weight { get; } = weight;

    /// <summary>Requests in flight to this upstream (all keys), read for balancing.</summary>
    internal int InFlight;

    /// <summary>The smooth weighted round-robin's running score, under <see cref="ModelEntry.Turns"/>.</summary>
    internal long Turn;

    /// <summary>The model entry this upstream serves (set once by the route table).</summary>
    public string EntryName { get; internal set; } = "";

    /// <summary>
    /// The name of the breaker of one of its provider's keys, the same on every instance with the same configuration:
    /// model entry, provider key (<c>openai#1</c>, never the key) and upstream model.
    /// </summary>
    public string BreakerName(int keyIndex)
    {
        var names = _breakerNames ??= new string[Provider.KeyCount];
        return names[keyIndex] ??= $"{EntryName}|{Provider.KeyName(keyIndex)}|{UpstreamModel ?? "*"}";
    }

    /// <summary>This upstream's breaker for one of its provider's keys if one was made (for reading: the status page makes none).</summary>
    internal UpstreamBreaker? ExistingBreaker(int keyIndex) => Volatile.Read(ref _breakers) is { } breakers ? Volatile.Read(ref breakers[keyIndex]) : null;

    /// <summary>This upstream's breaker for one of its provider's keys, made on first use by <paramref name="create"/>.</summary>
    internal UpstreamBreaker Breaker<TState>(int keyIndex, TState state, Func<TState, ModelUpstream, int, UpstreamBreaker> create)
    {
        var breakers = _breakers ?? Interlocked.CompareExchange(ref _breakers, new UpstreamBreaker?[Provider.KeyCount], null) ?? _breakers!;
        return breakers[keyIndex] ?? Interlocked.CompareExchange(ref breakers[keyIndex], create(state, this, keyIndex), null) ?? breakers[keyIndex]!;
    }
}
