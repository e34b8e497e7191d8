using System.IO.Enumeration;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// Limits by model name or pattern, answering which one applies to a model: the exact name wins,
/// then the longest matching pattern.
/// </summary>
internal sealed class ModelLimitTable
{
    private readonly Dictionary<string, RateLimitOptions> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<KeyValuePair<string, RateLimitOptions>> _patterns = [];

    public ModelLimitTable(IEnumerable<KeyValuePair<string, RateLimitOptions>> entries)
    {
        foreach (var (name, limits) in entries)
        {
            if (!limits.HasAnyLimit)
            {
                continue;
            }

            if (name.Contains('*', StringComparison.Ordinal))
            {
                _patterns.Add(new(name, limits));
            }
            else
            {
                _exact[name] = limits;
            }
        }

        _patterns.Sort((a, b) => b.Key.Length.CompareTo(a.Key.Length));
    }

    /// <summary>The matching entry's name (what its counters are shared by) and limits.</summary>
    public bool TryFind(string model, out string entryName, out RateLimitOptions limits)
    {
        if (_exact.TryGetValue(model, out limits!))
        {
            entryName = model;
            return true;
        }

        foreach (var (pattern, patternLimits) in _patterns)
        {
            // The file-name matcher is the framework's tested '*' matcher; model names hold no path separators.
            if (FileSystemName.MatchesSimpleExpression(pattern, model, ignoreCase: true))
            {
                entryName = pattern;
                limits = patternLimits;
                return true;
            }
        }

        entryName = "";
        return false;
    }
}
