using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// Step 3 of the request path: finds the upstreams for a model name. The table is compiled once per
/// options instance, so a configuration reload (IOptionsMonitor) takes effect on the next request.
/// </summary>
internal sealed class ModelRouter(IOptionsMonitor<ModelRelayOptions> options, TimeProvider timeProvider, Status.UpstreamHealthTracker? health = null)
{
    private ModelRouteTable? _table;

    /// <summary>The upstreams' health from the relay's own traffic, for a caller's <c>provider.sort: "latency"</c>.</summary>
    public Status.UpstreamHealthTracker? Health => health;

    public ModelRouteTable Table
    {
        get
        {
            var current = options.CurrentValue;
            var table = _table;
            if (table is null || !ReferenceEquals(table.Source, current))
            {
                table = new ModelRouteTable(current, timeProvider.GetUtcNow());
                _table = table;
            }

            return table;
        }
    }
}
