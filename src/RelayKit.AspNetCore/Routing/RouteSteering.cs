using System.Text.Json;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Status;

namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// How a caller steers its request among the upstreams its key may use, with the fields hosted relays already use
/// (OpenRouter's): <c>models</c>, an ordered list of fallback models tried after <c>model</c>; and <c>provider</c>, an
/// object with <c>order</c>, <c>only</c>, <c>ignore</c>, <c>allow_fallbacks</c>, <c>sort</c> (<c>price</c> or
/// <c>latency</c>) and <c>max_price</c> (<c>prompt</c> and <c>completion</c>, US dollars per million tokens). Both fields
/// are the relay's own: they never reach an upstream.
/// </summary>
internal sealed record RouteSteering(
    IReadOnlyList<string> Models,
    IReadOnlyList<string>? Order,
    IReadOnlyList<string>? Only,
    IReadOnlyList<string>? Ignore,
    bool AllowFallbacks,
    string? Sort,
    decimal? MaxPromptPrice,
    decimal? MaxCompletionPrice)
{
    /// <summary>The most fallback models a request may name: each may cost an upstream attempt the caller is not charged for.</summary>
    public const int MaxModels = 8;

    /// <summary>The body fields the relay reads for itself and removes before the body goes upstream.</summary>
    public static readonly string[] Fields = ["models", "provider"];

    /// <summary>The steering a body asks for: (null, null) when it has none, the 400 when a field is malformed.</summary>
    public static (RouteSteering? Steering, RelayError? Error) Read(JsonElement root)
    {
        var hasModels = root.TryGetProperty("models", out var models);
        var hasProvider = root.TryGetProperty("provider", out var provider);
        if (!hasModels && !hasProvider)
        {
            return (null, null);
        }

        List<string> fallbacks = [];
        if (hasModels && models.ValueKind != JsonValueKind.Null)
        {
            if (ReadNames(models) is not { } names)
            {
                return (null, RelayError.InvalidField("models", "must be an array of model names"));
            }

            if (names.Count > MaxModels)
            {
                return (null, RelayError.InvalidField("models", $"may name at most {MaxModels} fallback models"));
            }

            fallbacks = names;
        }

        if (!hasProvider || provider.ValueKind == JsonValueKind.Null)
        {
            return (new RouteSteering(fallbacks, null, null, null, true, null, null, null), null);
        }

        if (provider.ValueKind != JsonValueKind.Object)
        {
            return (null, RelayError.InvalidField("provider", "must be an object (order, only, ignore, allow_fallbacks, sort, max_price)"));
        }

        List<string>? order = null, only = null, ignore = null;
        var allowFallbacks = true;
        string? sort = null;
        decimal? maxPrompt = null, maxCompletion = null;
        foreach (var field in provider.EnumerateObject())
        {
            switch (field.Name)
            {
                case "order" or "only" or "ignore":
                    var names = ReadNames(field.Value);
                    if (names is null)
                    {
                        return (null, RelayError.InvalidField("provider." + field.Name, "must be an array of provider names"));
                    }

                    if (field.Name == "order")
                    {
                        order = names;
                    }
                    else if (field.Name == "only")
                    {
                        only = names;
                    }
                    else
                    {
                        ignore = names;
                    }

                    break;
                case "allow_fallbacks":
                    if (field.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        return (null, RelayError.InvalidField("provider.allow_fallbacks", "must be true or false"));
                    }

                    allowFallbacks = field.Value.GetBoolean();
                    break;
                case "sort":
                    sort = field.Value.ValueKind == JsonValueKind.String ? field.Value.GetString() : null;
                    if (sort is not ("price" or "latency"))
                    {
                        return (null, RelayError.InvalidField("provider.sort", "must be \"price\" or \"latency\" (\"throughput\" is not measured by this relay)"));
                    }

                    break;
                case "max_price":
                    if (field.Value.ValueKind != JsonValueKind.Object)
                    {
                        return (null, RelayError.InvalidField("provider.max_price", "must be an object with prompt and completion prices in US dollars per million tokens"));
                    }

                    foreach (var price in field.Value.EnumerateObject())
                    {
                        if (price.Name is not ("prompt" or "completion"))
                        {
                            continue; // OpenRouter's other price kinds (image, request) have no meaning here
                        }

                        if (price.Value.ValueKind != JsonValueKind.Number || !price.Value.TryGetDecimal(out var dollars) || dollars < 0)
                        {
                            return (null, RelayError.InvalidField("provider.max_price." + price.Name, "must be a non-negative number of US dollars per million tokens"));
                        }

                        if (price.Name == "prompt")
                        {
                            maxPrompt = dollars;
                        }
                        else
                        {
                            maxCompletion = dollars;
                        }
                    }

                    break;
                default:
                    // OpenRouter's data-policy fields (data_collection, zdr, quantizations…) are not the relay's to judge.
                    break;
            }
        }

        return (new RouteSteering(fallbacks, order, only, ignore, allowFallbacks, sort, maxPrompt, maxCompletion), null);
    }

    /// <summary>
    /// The request's candidates as steered: the model's own, then each fallback model's the key may use, filtered by
    /// <c>only</c>/<c>ignore</c>/<c>max_price</c>, ordered by <c>order</c> or <c>sort</c>; each steered position is a group of
    /// its own (tried in that order), an unsteered model keeps its priorities and weights. The error when a fallback model
    /// is unknown to the caller, or when no upstream is left.
    /// </summary>
    public (List<UpstreamCandidate>? Candidates, RelayError? Error) Apply(
        RelayRequestContext context, IReadOnlyList<UpstreamCandidate> own, ModelRouteTable table, RelayPriceCatalog prices, UpstreamHealthTracker? health,
        Func<IReadOnlyList<UpstreamCandidate>, RelayOperation, IReadOnlyList<UpstreamCandidate>> reachable)
    {
        var caller = context.Caller!;
        var requested = context.Fields!.Model;
        var all = new List<UpstreamCandidate>(own.Count);
        var group = 0;
        AddModel(own, null);
        foreach (var name in Models)
        {
            if (string.Equals(name, requested, StringComparison.OrdinalIgnoreCase) || all.Any(c => string.Equals(c.RequestedAs, name, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            var resolved = table.Resolve(name);
            if (resolved.Count == 0 || !caller.MayUse(name))
            {
                return (null, RelayError.UnknownModel(name, table.Closest(name, caller.MayUse, 3)));
            }

            AddModel(reachable(resolved, context.Operation), name);
        }

        all.RemoveAll(c => (Only is not null && !Contains(Only, c.Provider.Name)) || (Ignore is not null && Contains(Ignore, c.Provider.Name)));
        if (MaxPromptPrice is not null || MaxCompletionPrice is not null)
        {
            all.RemoveAll(c => prices.PriceOf(c) is not { } price
                || (!price.Free && ((MaxPromptPrice is { } prompt && price.Input > prompt) || (MaxCompletionPrice is { } completion && price.Output > completion))));
            if (all.Count == 0)
            {
                return (null, new RelayError(Microsoft.AspNetCore.Http.StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "no_upstream_within_max_price",
                    $"No upstream of '{requested}' the request may use is priced within provider.max_price; nothing was spent.", "provider.max_price"));
            }
        }

        if (all.Count == 0)
        {
            return (null, new RelayError(Microsoft.AspNetCore.Http.StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "no_upstream_allowed",
                $"provider.only and provider.ignore leave no upstream of '{requested}'.", "provider"));
        }

        if (Order is not null)
        {
            // The named providers first, in the order named; the others after them (or not at all without fallbacks).
            var ordered = all.Where(c => Contains(Order, c.Provider.Name)).OrderBy(c => IndexOf(Order, c.Provider.Name)).ToList();
            if (AllowFallbacks)
            {
                ordered.AddRange(all.Where(c => !Contains(Order, c.Provider.Name)));
            }

            all = ordered.Count > 0 ? ordered : all;
            all = [.. all.Select((c, i) => c with { Group = i })];
        }
        else if (Sort == "price")
        {
            all = [.. all.OrderBy(c => prices.PriceOf(c) is { } p ? (p.Free ? 0m : p.Input + p.Output) : decimal.MaxValue).Select((c, i) => c with { Group = i })];
        }
        else if (Sort == "latency")
        {
            all = [.. all.OrderBy(c => health?.GetReport(c.Provider.Name).LastHour.P50 ?? TimeSpan.MaxValue).Select((c, i) => c with { Group = i })];
        }

        if (!AllowFallbacks)
        {
            // Only the first choice (its group), no backups.
            var first = all[0].Group;
            all.RemoveAll(c => c.Group != first);
        }

        // The forwarder keeps the candidates it tried in one 64-bit mask: the first 64 (in order) are the request's.
        if (all.Count > UpstreamSelection.MaxCandidates)
        {
            all.RemoveRange(UpstreamSelection.MaxCandidates, all.Count - UpstreamSelection.MaxCandidates);
        }

        return (all, null);

        void AddModel(IReadOnlyList<UpstreamCandidate> candidates, string? requestedAs)
        {
            var top = group;
            foreach (var candidate in candidates)
            {
                var g = group + candidate.Upstream.Priority;
                all.Add(candidate with { Group = g, RequestedAs = requestedAs });
                top = Math.Max(top, g + 1);
            }

            group = top;
        }
    }

    private static bool Contains(IReadOnlyList<string> names, string name) => IndexOf(names, name) >= 0;

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private static List<string>? ReadNames(JsonElement array)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var names = new List<string>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
            {
                return null;
            }

            names.Add(item.GetString()!);
        }

        return names;
    }
}
