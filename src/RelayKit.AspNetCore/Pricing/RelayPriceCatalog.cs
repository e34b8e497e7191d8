using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Pricing;

/// <summary>
/// The <see cref="ModelPriceCatalog"/> of the relay's current configuration: configured
/// <c>Models:&lt;name&gt;:Price</c> and <c>MaxOutputTokens</c> over the built-in table, rebuilt when the options change.
/// </summary>
internal sealed class RelayPriceCatalog(IOptionsMonitor<ModelRelayOptions> options)
{
    private (ModelRelayOptions Options, ModelPriceCatalog Catalog)? _current;

    public ModelPriceCatalog Catalog
    {
        get
        {
            var value = options.CurrentValue;
            var current = _current;
            if (current is { } c && ReferenceEquals(c.Options, value))
            {
                return c.Catalog;
            }

            var prices = value.Models.Where(m => m.Value.Price is not null).ToDictionary(m => m.Key, m => m.Value.Price!, StringComparer.OrdinalIgnoreCase);
            var caps = value.Models.Where(m => m.Value.MaxOutputTokens is not null).ToDictionary(m => m.Key, m => m.Value.MaxOutputTokens!.Value, StringComparer.OrdinalIgnoreCase);
            var catalog = new ModelPriceCatalog(prices, caps);
            _current = (value, catalog);
            return catalog;
        }
    }

    /// <summary>
    /// The price of a candidate: the price configured on its entry (the name callers use, or its pattern), shared by all
    /// of the entry's upstreams; else the upstream model's own (configured or built-in), so a fallback to another model is
    /// priced as that model; else the entry name's built-in price. Null when it has none.
    /// </summary>
    public ModelPrice? PriceOf(UpstreamCandidate candidate)
    {
        var catalog = Catalog;
        if (catalog.ConfiguredPrice(candidate.Entry.Name.Text) is { } configured)
        {
            return configured;
        }

        return catalog.TryGetPrice(candidate.UpstreamModel, out var price) || catalog.TryGetPrice(candidate.Entry.Name.Text, out price)
            ? price
            : null;
    }

    /// <summary>The price of a configured entry as the model list shows it: what a request to it would be charged.</summary>
    public ModelPrice? PriceOf(ModelEntry entry) => PriceOf(new UpstreamCandidate(entry, entry.UpstreamModel ?? entry.Name.Text));

    /// <summary>The output cap configured on the candidate's entry (<c>Models:&lt;name&gt;:MaxOutputTokens</c>), or null.</summary>
    public int? ConfiguredOutputCapOf(UpstreamCandidate candidate) =>
        options.CurrentValue.Models.TryGetValue(candidate.Entry.Name.Text, out var model) ? model.MaxOutputTokens : null;

    /// <summary>
    /// The candidate's output cap: configured on its entry, else the upstream model's (configured or known), else known
    /// for the entry's name. The upstream model's comes before the entry name's, so a fallback to another model is never
    /// sent a limit that model refuses.
    /// </summary>
    public int? OutputCapOf(UpstreamCandidate candidate)
    {
        var catalog = Catalog;
        return catalog.ConfiguredOutputCap(candidate.Entry.Name.Text)
            ?? catalog.GetOutputCap(candidate.UpstreamModel)
            ?? catalog.GetOutputCap(candidate.Entry.Name.Text);
    }
}
