using System.Text.RegularExpressions;

namespace RelayKit.AspNetCore.Pricing;

/// <summary>
/// Looks up what a model costs: the configured price when there is one, else the built-in table
/// (matching dated snapshots such as <c>gpt-4o-2024-08-06</c> or <c>claude-sonnet-4-5-20250929</c>
/// to their base name). A model found in neither has no price and must be refused.
/// </summary>
internal sealed partial class ModelPriceCatalog
{
    private readonly Dictionary<string, ModelPrice> _configured;
    private readonly Dictionary<string, int> _configuredOutputCaps;

    /// <summary>Creates a catalog over configured prices and output caps (both keyed by model name).</summary>
    public ModelPriceCatalog(
        IReadOnlyDictionary<string, ModelPrice>? configuredPrices = null,
        IReadOnlyDictionary<string, int>? configuredOutputCaps = null)
    {
        _configured = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);
        foreach (var (model, price) in configuredPrices ?? new Dictionary<string, ModelPrice>())
        {
            var errors = Validate(model, price).ToList();
            if (errors.Count > 0)
            {
                throw new ArgumentException(string.Join(" ", errors), nameof(configuredPrices));
            }

            _configured[model] = price;
        }

        _configuredOutputCaps = new Dictionary<string, int>(
            configuredOutputCaps ?? new Dictionary<string, int>(), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>What is wrong with a configured price, if anything (for options validation at start).</summary>
    public static IEnumerable<string> Validate(string model, ModelPrice price)
    {
        if (price is null)
        {
            yield return $"Model '{model}': Price is missing.";
            yield break;
        }

        if (price.Input < 0 || price.Output < 0 || price.CachedInput < 0 || price.CacheWrite < 0)
        {
            yield return $"Model '{model}': prices must not be negative.";
        }
    }

    /// <summary>The price configured for <paramref name="model"/> (<c>Models:&lt;name&gt;:Price</c>), not a built-in one.</summary>
    public ModelPrice? ConfiguredPrice(string model) => _configured.GetValueOrDefault(model);

    /// <summary>The output cap configured for <paramref name="model"/> (<c>Models:&lt;name&gt;:MaxOutputTokens</c>), not a built-in one.</summary>
    public int? ConfiguredOutputCap(string model) => _configuredOutputCaps.TryGetValue(model, out var cap) ? cap : null;

    /// <summary>The price of <paramref name="model"/>, or false when it has none.</summary>
    public bool TryGetPrice(string model, out ModelPrice price)
    {
        if (_configured.TryGetValue(model, out var configured))
        {
            price = configured;
            return true;
        }

        if (TryGetKnown(model, out var known))
        {
            price = known.Price;
            return true;
        }

        price = null!;
        return false;
    }

    /// <summary>The most output tokens a response of <paramref name="model"/> can have, when known.</summary>
    public int? GetOutputCap(string model)
    {
        if (_configuredOutputCaps.TryGetValue(model, out var cap))
        {
            return cap;
        }

        return TryGetKnown(model, out var known) ? known.MaxOutputTokens : null;
    }

    private static bool TryGetKnown(string model, out KnownModel known)
    {
        if (BuiltInModelPrices.Table.TryGetValue(model, out known!))
        {
            return true;
        }

        // Only a date or "-latest" may follow a known name: "gpt-4o-audio-preview" is priced
        // differently from "gpt-4o" and must not inherit its price.
        var match = SnapshotSuffix().Match(model);
        return match.Success && BuiltInModelPrices.Table.TryGetValue(match.Groups["base"].Value, out known!);
    }

    [GeneratedRegex(@"^(?<base>.+?)-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$", RegexOptions.CultureInvariant)]
    private static partial Regex SnapshotSuffix();
}
