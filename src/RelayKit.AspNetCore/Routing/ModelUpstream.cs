namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// One upstream of a model entry (<c>Models:&lt;name&gt;:Upstreams</c>, or the entry's <c>Provider</c>): a provider, the
/// model name it knows, its priority and weight, and what the relay learns of it while it runs: requests in flight, the
/// weighted turn, and a breaker per provider key (and per model name sent, for an upstream of a wildcard entry that sends
/// the caller's model name as it is: <see cref="ModelBreakers"/>).
/// </summary>
internal sealed class ModelUpstream(UpstreamProvider provider, string? upstreamModel, int priority, int weight)
{
    private string[]? _breakerNames;

    private UpstreamBreaker?[]? _breakers;

    private ModelBreakers?[]? _modelBreakers;

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
    /// The pattern of the model names it sends as callers sent them, when its entry is a wildcard and it has no
    /// <see cref="UpstreamModel"/> (set once by the route table): its breakers are then one per model name and key.
    /// </summary>
    public ModelPattern? PassThrough { get; internal set; }

    /// <summary>
    /// The name of the breaker of one of its provider's keys, the same on every instance with the same configuration:
    /// model entry, provider key (<c>openai#1</c>, never the key) and upstream model (<c>*</c> for the caller's). For a
    /// <see cref="PassThrough"/> upstream it is the key's own breaker, which probes feed (a failing model list rests every
    /// model of the key).
    /// </summary>
    public string BreakerName(int keyIndex)
    {
        var names = _breakerNames ??= new string[Provider.KeyCount];
        return names[keyIndex] ??= $"{EntryName}|{Provider.KeyName(keyIndex)}|{UpstreamModel ?? "*"}";
    }

    /// <summary>The name of the breaker a request sending <paramref name="model"/> goes through (see <see cref="BreakerName(int)"/>).</summary>
    public string BreakerName(int keyIndex, string? model) =>
        PassThrough is null || model is null ? BreakerName(keyIndex) : $"{EntryName}|{Provider.KeyName(keyIndex)}|{model}";

    /// <summary>This upstream's breaker for one of its provider's keys if one was made (for reading: the status page makes none).</summary>
    internal UpstreamBreaker? ExistingBreaker(int keyIndex) => Volatile.Read(ref _breakers) is { } breakers ? Volatile.Read(ref breakers[keyIndex]) : null;

    /// <summary>The breaker a request sending <paramref name="model"/> goes through with one key, if one was made.</summary>
    internal UpstreamBreaker? ExistingBreaker(int keyIndex, string model) => PassThrough is null
        ? ExistingBreaker(keyIndex)
        : (Volatile.Read(ref _modelBreakers) is { } sets ? Volatile.Read(ref sets[keyIndex]) : null)?.Find(model);

    /// <summary>
    /// Every breaker made for one key: the key's own (model null), and for a <see cref="PassThrough"/> upstream each
    /// model's, by model name.
    /// </summary>
    internal IEnumerable<(string? Model, UpstreamBreaker Breaker)> ExistingBreakers(int keyIndex)
    {
        if (ExistingBreaker(keyIndex) is { } own)
        {
            yield return (null, own);
        }

        if (Volatile.Read(ref _modelBreakers) is { } sets && Volatile.Read(ref sets[keyIndex]) is { } models)
        {
            foreach (var (model, breaker) in models.All())
            {
                yield return (model, breaker);
            }
        }
    }

    /// <summary>This upstream's breaker for one of its provider's keys, made on first use by <paramref name="create"/>.</summary>
    internal UpstreamBreaker Breaker<TState>(int keyIndex, TState state, Func<TState, ModelUpstream, int, string?, UpstreamBreaker> create)
    {
        var breakers = _breakers ?? Interlocked.CompareExchange(ref _breakers, new UpstreamBreaker?[Provider.KeyCount], null) ?? _breakers!;
        return breakers[keyIndex] ?? Interlocked.CompareExchange(ref breakers[keyIndex], create(state, this, keyIndex, null), null) ?? breakers[keyIndex]!;
    }

    /// <summary>
    /// The breaker a request sending <paramref name="model"/> goes through with one key, made on first use: the key's own
    /// (<see cref="Breaker{TState}(int, TState, Func{TState, ModelUpstream, int, string?, UpstreamBreaker})"/>), or for a <see cref="PassThrough"/> upstream the model's; null when that upstream key keeps
    /// as many resting breakers as it may (<see cref="ModelBreakers"/>).
    /// </summary>
    internal UpstreamBreaker? Breaker<TState>(int keyIndex, string model, TState state, Func<TState, ModelUpstream, int, string?, UpstreamBreaker> create)
    {
        if (PassThrough is null)
        {
            return Breaker(keyIndex, state, create);
        }

        var sets = _modelBreakers ?? Interlocked.CompareExchange(ref _modelBreakers, new ModelBreakers?[Provider.KeyCount], null) ?? _modelBreakers!;
        var models = sets[keyIndex] ?? Interlocked.CompareExchange(ref sets[keyIndex], new ModelBreakers(), null) ?? sets[keyIndex]!;
        return models.GetOrAdd(model, (self: this, keyIndex, model, state, create), static s => s.create(s.state, s.self, s.keyIndex, s.model));
    }
}
