using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The forward step's link to telemetry: starts the request's span before the first attempt and one
/// span per upstream attempt, and reports every attempt's outcome to <see cref="UpstreamHealthTracker"/>,
/// so the status page and the health check judge upstreams by the relay's real traffic, and to the request's
/// usage record (<see cref="UsageRecord.Attempts"/>).
/// </summary>
internal sealed class UpstreamAttemptTracker(RelayActivitySource activities, UpstreamHealthTracker health, TimeProvider timeProvider)
{
    /// <summary>Starts the request's span, unless it has one already.</summary>
    public void StartRequest(RelayRequestContext context)
    {
        var fields = context.Fields;
        if (context.Activity is null && fields is not null)
        {
            context.Activity = activities.StartRequest(
                context.RequestId, context.Operation.GenAIName, fields.Model, context.Caller?.KeyName, fields.Stream);
        }
    }

    /// <summary>Starts one attempt at <paramref name="candidate"/>; <paramref name="number"/> is 1 for the first.</summary>
    public UpstreamAttempt StartAttempt(RelayRequestContext context, UpstreamCandidate candidate, int number)
    {
        var provider = candidate.Provider;
        var span = activities.StartAttempt(provider.Name, context.Operation.GenAIName, candidate.UpstreamModel, number, provider.BaseUri);
        return new UpstreamAttempt(health, timeProvider, context, provider.Name, candidate.UpstreamModel, span, HistoryModel(candidate));
    }

    /// <summary>
    /// The model the public status history counts the attempt under: the upstream model the routes name, or null when a
    /// pattern sends the caller's own model name, since any text a caller types would otherwise become a row of the
    /// anonymous status page (as many as they like). Such attempts count under their provider only.
    /// </summary>
    internal static string? HistoryModel(UpstreamCandidate candidate) =>
        candidate.Upstream.UpstreamModel is null && candidate.Entry.Name.IsWildcard ? null : candidate.UpstreamModel;
}
