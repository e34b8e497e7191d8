using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// Step 3 of the request path: finds the upstreams for a model name. The table is compiled once per
/// options instance, so a configuration reload (IOptionsMonitor) takes effect on the next request.
/// </summary>
internal sealed class ModelRouter(IOptionsMonitor<ModelRelayOptions> options, TimeProvider timeProvider)
{
    private ModelRouteTable? _table;

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
