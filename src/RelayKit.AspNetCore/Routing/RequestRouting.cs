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
    public static RelayError? Route(RelayRequestContext context, ModelRouteTable table, RelayPriceCatalog prices, Status.UpstreamHealthTracker? health = null)
    {
        var model = context.Fields!.Model;
        var candidates = table.Resolve(model);

        // A model the key may not use is answered as one that does not exist, as the model list does: a key limited to
        // some models must not learn which others the relay serves.
        if (candidates.Count == 0 || !context.Caller!.MayUse(model))
        {
            return RelayError.UnknownModel(model, table.Closest(model, context.Caller!.MayUse, 3));
        }

        // Every upstream the request can reach: of the caller's format, or of the other with the request translated. The
        // first one's format is the request's now (a field that cannot be translated for it is the caller's 400 before
        // anything is reserved); a fallback of the other format is translated for when its turn comes (TranslateFor).
        context.Candidates = Reachable(candidates, context.Operation);
        if (context.Candidates.Count == 0)
        {
            return RelayError.OperationNotSupported(model, candidates[0].Provider.Name, context.Operation);
        }

        // The caller's own steering (models, provider): within what its key may use; the fields never go upstream.
        var (steering, steeringError) = RouteSteering.Read(context.Body!.Root);
        if (steeringError is not null)
        {
            return steeringError;
        }

        if (steering is not null)
        {
            var (steered, refused) = steering.Apply(context, context.Candidates, table, prices, health, Reachable);
            if (refused is not null)
            {
                return refused;
            }

            context.Candidates = steered!;
            foreach (var field in RouteSteering.Fields)
            {
                context.BodyOverrides[field] = Forwarding.JsonBodyRewriter.Removed;
            }
        }

        if (TranslateFor(context, context.Candidates[0], prices) is not { } untranslatable)
        {
            return null;
        }

        // The first upstream's format cannot carry a field of this request: upstreams of the caller's own format can.
        if (context.Candidates.Any(c => c.Provider.Format == context.Operation.Format))
        {
            context.Candidates = [.. context.Candidates.Where(c => c.Provider.Format == context.Operation.Format)];
            return TranslateFor(context, context.Candidates[0], prices);
        }

        return untranslatable;
    }

    /// <summary>
    /// Readies the request for <paramref name="candidate"/>'s wire format: no translation for the caller's own, else the
    /// request translated (once per format; the upstream model is set per attempt by the forwarder). The 400 to answer
    /// when a field cannot be carried over.
    /// </summary>
    public static RelayError? TranslateFor(RelayRequestContext context, UpstreamCandidate candidate, RelayPriceCatalog prices)
    {
        var format = candidate.Provider.Format;
        if (format == context.Operation.Format)
        {
            if (context.Translation is { } previous)
            {
                previous.Dispose();
                context.Translation = null;
                context.TranslatedFor = null;
            }

            return null;
        }

        if (context.Translation?.UpstreamFormat == format && context.TranslatedFor == candidate.RequestedAs)
        {
            return null;
        }

        // Made again for a fallback model of the caller's models list: the translated answer names that model.
        context.Translation?.Dispose();
        context.Translation = null;
        context.TranslatedFor = candidate.RequestedAs;
        return RequestTranslation.Apply(context, format, candidate.UpstreamModel, prices.ConfiguredOutputCapOf(candidate), candidate.RequestedAs);
    }

    /// <summary>
    /// The candidates of the caller's format or of one the request can be translated to: nearly always all of them, and
    /// then the route table's own list (which no step changes: they replace it) rather than a copy.
    /// </summary>
    internal static IReadOnlyList<UpstreamCandidate> Reachable(IReadOnlyList<UpstreamCandidate> candidates, RelayOperation operation)
    {
        for (var i = 0; i < candidates.Count; i++)
        {
            var format = candidates[i].Provider.Format;
            if (operation.On(format) is null)
            {
                return [.. candidates.Where(c => operation.On(c.Provider.Format) is not null)];
            }
        }

        return candidates;
    }
}
