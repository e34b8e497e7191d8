using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Reads limits from the relay's own <see cref="ModelRelayOptions"/> (the limit properties of its
/// <c>Keys</c> and <c>Models</c> entries) through <see cref="IOptionsMonitor{TOptions}"/>, so a
/// configuration reload changes the limits of the next request.
/// </summary>
internal sealed class ConfiguredRateLimitPolicySource : IRateLimitPolicySource
{
    private const int MaxCachedPolicies = 4096;

    private readonly IOptionsMonitor<ModelRelayOptions> _options;
    private Snapshot? _snapshot;

    public ConfiguredRateLimitPolicySource(IOptionsMonitor<ModelRelayOptions> options)
    {
        _options = options;
    }

    public RateLimitPolicy GetPolicy(string keyName, string model)
    {
        // A policy depends only on the configuration and the pair, and every request asks for it twice
        // (admission and limiter): it is built once per pair and configuration. The cache is bounded, because
        // a wildcard model entry lets callers name any number of models.
        var snapshot = CurrentSnapshot();
        if (snapshot.Policies.TryGetValue((keyName, model), out var cached))
        {
            return cached;
        }

        var policy = Build(snapshot, keyName, model);
        if (snapshot.Policies.Count < MaxCachedPolicies)
        {
            snapshot.Policies.TryAdd((keyName, model), policy);
        }

        return policy;
    }

    private static RateLimitPolicy Build(Snapshot snapshot, string keyName, string model)
    {
        // An alias counts against its model's limits: callers may ask for either name.
        if (snapshot.Aliases.TryGetValue(model, out var aliased))
        {
            model = aliased;
        }

        var rules = new List<RateLimitRule>(3);
        var queueTimeout = TimeSpan.Zero;
        if (snapshot.Keys.TryGetValue(keyName, out var key))
        {
            queueTimeout = key.Options.QueueTimeout;
            if (key.Options.HasAnyLimit)
            {
                rules.Add(new RateLimitRule(RateLimitScope.Key, CounterIds.Key(keyName), key.Options));
            }

            if (key.ModelLimits.TryFind(model, out var entry, out var pairLimits))
            {
                rules.Add(new RateLimitRule(RateLimitScope.KeyModel, CounterIds.KeyModel(keyName, entry), pairLimits));
            }
        }

        if (snapshot.Models.TryFind(model, out var modelEntry, out var modelLimits))
        {
            rules.Add(new RateLimitRule(RateLimitScope.Model, CounterIds.Model(modelEntry), modelLimits));
        }

        return rules.Count == 0 && queueTimeout == TimeSpan.Zero ? RateLimitPolicy.Unlimited : new RateLimitPolicy(rules, queueTimeout);
    }

    private Snapshot CurrentSnapshot()
    {
        // IOptionsMonitor hands out the same instance until configuration reloads, so the lookup tables
        // are rebuilt once per reload rather than once per request.
        var current = _options.CurrentValue;
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot is null || !ReferenceEquals(snapshot.Source, current))
        {
            snapshot = new Snapshot(current);
            Volatile.Write(ref _snapshot, snapshot);
        }

        return snapshot;
    }

    private sealed class Snapshot
    {
        public Snapshot(ModelRelayOptions source)
        {
            Source = source;
            foreach (var key in source.Keys)
            {
                if (!string.IsNullOrEmpty(key.Name))
                {
                    Keys[key.Name] = new KeyEntry(key, new ModelLimitTable(key.ModelLimits));
                }
            }

            foreach (var (name, model) in source.Models)
            {
                foreach (var alias in model.Aliases.Where(a => !string.IsNullOrWhiteSpace(a)))
                {
                    Aliases.TryAdd(alias, name);
                }
            }

            Models = new ModelLimitTable(source.Models.Select(m => new KeyValuePair<string, RateLimitOptions>(m.Key, m.Value)));
        }

        public ModelRelayOptions Source { get; }

        public Dictionary<string, KeyEntry> Keys { get; } = new(StringComparer.Ordinal);

        public ModelLimitTable Models { get; }

        public Dictionary<string, string> Aliases { get; } = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>The policies built from this configuration, by key name and model as asked for.</summary>
        public ConcurrentDictionary<(string KeyName, string Model), RateLimitPolicy> Policies { get; } = new();
    }

    private sealed record KeyEntry(ModelRelayKeyOptions Options, ModelLimitTable ModelLimits);
}
