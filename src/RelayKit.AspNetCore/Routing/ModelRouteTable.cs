using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Routing;

/// <summary>The configured models compiled for lookup: exact names and aliases first, then wildcard entries by specificity.</summary>
internal sealed class ModelRouteTable
{
    // Exact names and aliases with their one candidate: it does not depend on the request, so it is made once here.
    private readonly Dictionary<string, IReadOnlyList<UpstreamCandidate>> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<ModelEntry> _patterns = [];
    private readonly List<ModelUpstream> _upstreams = [];

    /// <summary>Every upstream of every model entry.</summary>
    public IReadOnlyList<ModelUpstream> Upstreams => _upstreams;

    // Every entry, exact and pattern, in name order.
    private readonly List<ModelEntry> _entries = [];

    // Each exact name and alias as configured, for any casing a caller sends (see MetricName).
    private readonly Dictionary<string, string> _spelling = new(StringComparer.OrdinalIgnoreCase);

    public ModelRouteTable(ModelRelayOptions options, DateTimeOffset compiledAt)
    {
        Source = options;
        CompiledAt = compiledAt;
        var providers = new Dictionary<string, UpstreamProvider>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, p) in options.Providers)
        {
            if (p?.BaseUrl is null || p.Kind is null || !Uri.TryCreate(p.BaseUrl, UriKind.Absolute, out var baseUri))
            {
                continue; // reported by ModelRelayOptionsValidator
            }

            var withSlash = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
            var format = p.Kind == ModelRelayProviderKind.Anthropic ? WireFormat.Anthropic : WireFormat.OpenAI;
            string[] keys = string.IsNullOrEmpty(p.ApiKey) ? [.. p.ApiKeys.Where(k => !string.IsNullOrEmpty(k))] : [p.ApiKey];
            providers[name] = new UpstreamProvider(name, format, withSlash, keys, p.AuthHeader, [.. p.Headers]);
        }

        Providers = providers;

        foreach (var (name, m) in options.Models.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            var upstreams = UpstreamsOf(m, providers);
            if (upstreams.Count == 0)
            {
                continue; // reported by ModelRelayOptionsValidator
            }

            var entry = new ModelEntry(ModelPattern.Parse(name), upstreams, [.. m!.Aliases.Where(a => !string.IsNullOrWhiteSpace(a))]);
            foreach (var upstream in upstreams)
            {
                upstream.EntryName = entry.Name.Text;
                upstream.PassThrough = entry.Name.IsWildcard && upstream.UpstreamModel is null ? entry.Name : null;
                _upstreams.Add(upstream);
            }

            _entries.Add(entry);
            if (entry.Name.IsWildcard)
            {
                _patterns.Add(entry);
                continue;
            }

            IReadOnlyList<UpstreamCandidate> candidates = [.. upstreams.Select(u => new UpstreamCandidate(entry, u, u.UpstreamModel ?? entry.Name.Text))];
            _exact[entry.Name.Text] = candidates;
            _spelling[entry.Name.Text] = entry.Name.Text;
            foreach (var alias in entry.Aliases)
            {
                _exact.TryAdd(alias, candidates);
                _spelling.TryAdd(alias, alias);
            }
        }

        // Most literal characters first; equal ones in name order so routing never depends on configuration order.
        _patterns.Sort((a, b) => b.Name.Specificity != a.Name.Specificity
            ? b.Name.Specificity.CompareTo(a.Name.Specificity)
            : StringComparer.Ordinal.Compare(a.Name.Text, b.Name.Text));
    }

    /// <summary>
    /// A model's upstreams, lowest priority first (configuration order within one): its <c>Upstreams</c>, or its
    /// <c>Provider</c> as the one upstream. Empty when the entry names no configured provider (the validator reports it).
    /// </summary>
    private static List<ModelUpstream> UpstreamsOf(ModelRelayModelOptions? model, Dictionary<string, UpstreamProvider> providers)
    {
        if (model is null)
        {
            return [];
        }

        if (model.Upstreams.Count == 0)
        {
            return model.Provider is not null && providers.TryGetValue(model.Provider, out var provider)
                ? [new ModelUpstream(provider, model.UpstreamModel, 0, 1)]
                : [];
        }

        var upstreams = new List<ModelUpstream>(model.Upstreams.Count);
        foreach (var u in model.Upstreams)
        {
            if (u?.Provider is not null && providers.TryGetValue(u.Provider, out var provider))
            {
                upstreams.Add(new ModelUpstream(provider, string.IsNullOrWhiteSpace(u.UpstreamModel) ? null : u.UpstreamModel, u.Priority, Math.Max(1, u.Weight)));
            }
        }

        // A stable sort: equal priorities keep their configured order.
        return [.. upstreams.OrderBy(u => u.Priority)];
    }

    /// <summary>The configured providers by name (case-insensitive), the unused ones too.</summary>
    public IReadOnlyDictionary<string, UpstreamProvider> Providers { get; }

    /// <summary>Every model entry (exact names and patterns, not aliases) in name order, with its upstreams.</summary>
    public IReadOnlyList<ModelEntry> Entries => _entries;

    /// <summary>The options this table was compiled from.</summary>
    public ModelRelayOptions Source { get; }

    /// <summary>When this table was compiled; model lists report it as the models' creation time.</summary>
    public DateTimeOffset CompiledAt { get; }

    /// <summary>The names callers can list: every exact model name and alias, in name order.</summary>
    public IEnumerable<(string Name, ModelEntry Entry)> ListedModels =>
        _exact.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, e.Value[0].Entry));

    /// <summary>Every upstream that may serve the model, best first; empty when no entry matches.</summary>
    public IReadOnlyList<UpstreamCandidate> Resolve(string model)
    {
        if (_exact.TryGetValue(model, out var exact))
        {
            return exact;
        }

        foreach (var entry in _patterns)
        {
            if (entry.Name.Matches(model))
            {
                if (entry.Upstreams.Count == 1)
                {
                    return [new UpstreamCandidate(entry, entry.Upstreams[0], entry.UpstreamModel ?? model)];
                }

                return [.. entry.Upstreams.Select(u => new UpstreamCandidate(entry, u, u.UpstreamModel ?? model))];
            }
        }

        return [];
    }

    /// <summary>What a model stands for in metric attributes, <see cref="OtherModel"/> for a name nothing routes.</summary>
    public const string OtherModel = "_OTHER";

    /// <summary>
    /// The model as a metric attribute: a configured name or alias as configured, the pattern a name matched, else
    /// <see cref="OtherModel"/>. Callers choose the strings they send, so taken as they are they would make a new
    /// metric series for every typo, casing or name a pattern admits; these are as many as the configuration has.
    /// </summary>
    public string MetricName(string model)
    {
        if (_spelling.TryGetValue(model, out var configured))
        {
            return configured;
        }

        foreach (var entry in _patterns)
        {
            if (entry.Name.Matches(model))
            {
                return entry.Name.Text;
            }
        }

        return OtherModel;
    }

    /// <summary>The configured names (exact names, aliases and patterns) closest to an unknown model, among those the caller may see.</summary>
    public IReadOnlyList<string> Closest(string model, Func<string, bool> visible, int count)
    {
        return _exact.Keys
            .Concat(_patterns.Select(p => p.Name.Text))
            .Where(visible)
            .Select(name => (name, distance: ModelNameDistance.Between(model, name)))
            .OrderBy(x => x.distance)
            .ThenBy(x => x.name, StringComparer.Ordinal)
            .Take(count)
            .Select(x => x.name)
            .ToList();
    }
}
