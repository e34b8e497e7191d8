using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Status;

/// <summary>Maps the relay's own pages: <c>GET /relay/status</c> (anonymous) and <c>GET /relay/usage</c> (the caller's key).</summary>
internal static class RelayPagesEndpointRouteBuilderExtensions
{
    public static void MapRelayPages(this IEndpointRouteBuilder group)
    {
        var services = group.ServiceProvider;
        var status = ActivatorUtilities.CreateInstance<RelayStatusEndpoint>(services);
        var usage = ActivatorUtilities.CreateInstance<UsageEndpoint>(services);
        group.MapGet("/relay/status", http => Hosting.StoreFailures.GuardAsync(http, "status page", status.HandleAsync)).WithDisplayName("RelayKit status").AllowAnonymous();
        group.MapGet("/relay/status/summary.json", http => Hosting.StoreFailures.GuardAsync(http, "status summary", status.HandleSummaryAsync)).WithDisplayName("RelayKit status summary").AllowAnonymous();
        group.MapGet("/relay/usage", http => Hosting.StoreFailures.GuardAsync(http, "usage page", usage.HandleAsync)).WithDisplayName("RelayKit usage").AllowAnonymous();
    }
}
