using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admin;

namespace RelayKit.AspNetCore;

/// <summary>Maps the relay's operations API.</summary>
public static class ModelRelayAdminEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the operations API under <paramref name="prefix"/>: <c>POST keys</c> (create; the secret is
    /// answered once), <c>GET keys</c>, <c>GET keys/{id}</c>, <c>GET keys/{id}/balance</c>,
    /// <c>GET keys/{id}/ledger</c>, <c>POST keys/{id}/topups</c>, <c>POST keys/{id}/refund</c>,
    /// <c>POST keys/{id}/revoke</c>, <c>GET usage</c> (every key's usage records, JSON or CSV) and <c>GET spend</c> (their
    /// cost by key, model and day), and the operator console page at <c>console</c>, which signs in with
    /// <c>ModelRelay:Admin:Key</c> and calls this API. Protect it with the host's policy on the returned builder
    /// (<c>.RequireAuthorization("admin")</c>), with <c>ModelRelay:Admin:Key</c>, or both; with neither,
    /// every request is refused with 403. With the relay off (<c>ModelRelay:Enabled=false</c>) nothing is mapped.
    /// </summary>
    /// <param name="endpoints">The app's endpoint route builder.</param>
    /// <param name="prefix">The path the endpoints go under.</param>
    /// <returns>A convention builder for all operations endpoints, for the host's authorization policy.</returns>
    public static IEndpointConventionBuilder MapModelRelayAdmin(this IEndpointRouteBuilder endpoints, string prefix = "/relay/admin")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        var admin = endpoints.ServiceProvider.GetService<RelayAdminEndpoints>()
            ?? throw new InvalidOperationException("The operations API's services are missing: call builder.Services.AddModelRelay().AddAdmin() before app.MapModelRelayAdmin().");
        if (!admin.HasLedger)
        {
            throw new InvalidOperationException("The operations API needs the relay's budget ledger, which is not registered.");
        }

        var group = endpoints.MapGroup(prefix);

        // With the relay off (ModelRelay:Enabled=false) nothing of it is mapped, its keys' API included.
        if (!endpoints.ServiceProvider.GetRequiredService<IOptionsMonitor<ModelRelayOptions>>().CurrentValue.Enabled)
        {
            return group;
        }

        group.MapPost("/keys", http => admin.HandleAsync(http, admin.CreateAsync)).WithDisplayName("RelayKit admin: create key");
        group.MapGet("/keys", http => admin.HandleAsync(http, admin.ListAsync)).WithDisplayName("RelayKit admin: list keys");
        group.MapGet("/keys/{id}", http => admin.HandleAsync(http, admin.GetAsync)).WithDisplayName("RelayKit admin: read key");
        group.MapGet("/keys/{id}/balance", http => admin.HandleAsync(http, admin.BalanceAsync)).WithDisplayName("RelayKit admin: read balance");
        group.MapGet("/keys/{id}/ledger", http => admin.HandleAsync(http, admin.LedgerAsync)).WithDisplayName("RelayKit admin: read ledger");
        group.MapPost("/keys/{id}/topups", http => admin.HandleAsync(http, admin.TopUpAsync)).WithDisplayName("RelayKit admin: top up");
        group.MapPost("/keys/{id}/refund", http => admin.HandleAsync(http, admin.RefundAsync)).WithDisplayName("RelayKit admin: refund and close");
        group.MapPost("/keys/{id}/revoke", http => admin.HandleAsync(http, admin.RevokeAsync)).WithDisplayName("RelayKit admin: revoke");
        var usage = endpoints.ServiceProvider.GetRequiredService<RelayAdminUsageEndpoint>();
        group.MapGet("/usage", http => admin.HandleAsync(http, usage.QueryAsync)).WithDisplayName("RelayKit admin: usage");
        var spend = endpoints.ServiceProvider.GetRequiredService<RelayAdminSpendEndpoint>();
        group.MapGet("/spend", http => admin.HandleAsync(http, spend.QueryAsync)).WithDisplayName("RelayKit admin: spend");

        // The console is a page shell with no data of its own: outside the group, so the host's policy on the returned
        // builder does not hide it from a browser that signs in with the admin key; everything it shows comes from the
        // calls above, sent with that key.
        var console = endpoints.ServiceProvider.GetRequiredService<OperatorConsolePage>();
        endpoints.MapGet(prefix.TrimEnd('/') + "/console", console.WriteAsync).AllowAnonymous().WithDisplayName("RelayKit admin: console");
        return group;
    }
}
