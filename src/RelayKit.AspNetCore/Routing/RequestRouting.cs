using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Translation.Relay;

namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// Step 3, route: the upstream candidates for the request's model that the caller may use, in the caller's wire
/// format, or in the other one with the request translated to it. The relay's requests and its estimate endpoint
/// both route here, so an estimate prices exactly what the request would reserve.
/// </summary>
internal static class RequestRouting
{
    /// <summary>Fills <see cref="RelayRequestContext.Candidates"/> (and the translation, when one is needed); the refusal otherwise.</summary>
    public static RelayError? Route(RelayRequestContext context, ModelRouteTable table, RelayPriceCatalog prices)
    {
        var model = context.Fields!.Model;
        var candidates = table.Resolve(model);

        // A model the key may not use is answered as one that does not exist, as the model list does: a key limited to
        // some models must not learn which others the relay serves.
        if (candidates.Count == 0 || !context.Caller!.MayUse(model))
        {
            return RelayError.UnknownModel(model, table.Closest(model, context.Caller!.MayUse, 3));
        }

        context.Candidates = OfFormat(candidates, context.Operation.Format);
        if (context.Candidates.Count > 0)
        {
            return null;
        }

        // The model's provider speaks the other format: translate (step 5's other-format branch).
        var provider = candidates[0].Provider;
        if (!RequestTranslation.CanTranslate(context.Operation, provider.Format))
        {
            return RelayError.OperationNotSupported(model, provider.Name, context.Operation);
        }

        context.Candidates = OfFormat(candidates, provider.Format);
        return RequestTranslation.Apply(context, provider.Format, context.Candidates[0].UpstreamModel, prices.ConfiguredOutputCapOf(context.Candidates[0]));
    }

    /// <summary>
    /// The candidates that speak <paramref name="format"/>: nearly always all of them, and then the route
    /// table's own list (which no step changes: they replace it) rather than a copy.
    /// </summary>
    private static IReadOnlyList<UpstreamCandidate> OfFormat(IReadOnlyList<UpstreamCandidate> candidates, WireFormat format)
    {
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates[i].Provider.Format != format)
            {
                return [.. candidates.Where(c => c.Provider.Format == format)];
            }
        }

        return candidates;
    }
}
