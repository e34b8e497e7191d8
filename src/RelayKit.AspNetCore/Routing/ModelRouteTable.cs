using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Routing;

/// <summary>The configured models compiled for lookup: exact names and aliases first, then wildcard entries by specificity.</summary>
internal sealed class ModelRouteTable
{
    // Exact names and aliases with their one candidate: it does not depend on the request, so it is made once here.
    private readonly Dictionary<string, IReadOnlyList<UpstreamCandidate>> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<ModelEntry> _patterns = [];

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
            providers[name] = new UpstreamProvider(name, format, withSlash, string.IsNullOrEmpty(p.ApiKey) ? null : p.ApiKey);
        }

        foreach (var (name, m) in options.Models.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            if (m?.Provider is null || !providers.TryGetValue(m.Provider, out var provider))
            {
                continue; // reported by ModelRelayOptionsValidator
            }

            var entry = new ModelEntry(ModelPattern.Parse(name), provider, m.UpstreamModel, [.. m.Aliases.Where(a => !string.IsNullOrWhiteSpace(a))]);
            if (entry.Name.IsWildcard)
            {
                _patterns.Add(entry);
                continue;
            }

            IReadOnlyList<UpstreamCandidate> candidates = [new UpstreamCandidate(entry, entry.UpstreamModel ?? entry.Name.Text)];
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
                return [new UpstreamCandidate(entry, entry.UpstreamModel ?? model)];
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
