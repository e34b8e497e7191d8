using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Status;

namespace RelayKit.AspNetCore;

/// <summary>Maps the model relay's endpoints.</summary>
public static partial class ModelRelayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the relay's OpenAI-compatible (<c>POST /v1/chat/completions</c>, <c>/v1/embeddings</c>,
    /// <c>/v1/responses</c>, <c>GET /v1/models</c>) and Anthropic-compatible (<c>POST /v1/messages</c>,
    /// <c>/v1/messages/count_tokens</c>) endpoints under <paramref name="prefix"/>. With
    /// <c>ModelRelay:Enabled=false</c> it maps nothing and logs that the relay is off.
    /// </summary>
    /// <param name="endpoints">The app's endpoint route builder.</param>
    /// <param name="prefix">The path the endpoints go under, for example <c>/relay</c>; empty for the root.</param>
    /// <returns>A convention builder for all relay endpoints, for the host's authorization, CORS or rate limiting.</returns>
    public static IEndpointConventionBuilder MapModelRelay(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);

        var services = endpoints.ServiceProvider;
        var handler = services.GetService<RelayRequestHandler>()
            ?? throw new InvalidOperationException("The model relay's services are missing: call builder.Services.AddModelRelay() before app.MapModelRelay().");
        var group = endpoints.MapGroup(prefix);
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ModelRelayEndpointRouteBuilderExtensions).FullName!);
        if (!services.GetRequiredService<IOptionsMonitor<ModelRelayOptions>>().CurrentValue.Enabled)
        {
            LogRelayDisabled(logger, (services.GetService<RelaySection>() ?? RelaySection.Default).Path);
            return group;
        }

        foreach (var operation in RelayOperation.Relayed)
        {
            Map(group, operation.CallerPath, operation);
        }

        group.MapGet(RelayOperation.ListModels.CallerPath, http => handler.HandleAsync(http, RelayOperation.ListModels))
            .WithDisplayName("RelayKit models");
        group.MapGet("/v1/models/{**model}", http => handler.HandleAsync(http, RelayOperation.ListModels))
            .WithDisplayName("RelayKit model");
        group.MapMethods("/v1/models", ["POST", "PUT", "DELETE", "PATCH"], http => WrongMethodAsync(
                http, http.Request.Headers.ContainsKey("anthropic-version") ? WireFormat.Anthropic : WireFormat.OpenAI, "GET"))
            .WithDisplayName("RelayKit models, other methods");
        group.MapRelayPages();

        RelayBudgetEndpoints.Map(group);
        LogRelayMapped(logger, string.IsNullOrEmpty(prefix) ? "/" : prefix);
        return group;

        void Map(RouteGroupBuilder routes, string pattern, RelayOperation operation)
        {
            routes.MapPost(pattern, http => handler.HandleAsync(http, operation))
                .WithDisplayName("RelayKit " + operation.Name);
            routes.MapMethods(pattern, ["GET", "HEAD", "PUT", "DELETE", "PATCH"], http => WrongMethodAsync(http, operation.Format, "POST"))
                .WithDisplayName($"RelayKit {operation.Name}, other methods");
        }
    }

    /// <summary>
    /// A 405 in the caller's wire format with <c>Allow</c>, where routing alone would answer an empty one. OPTIONS is
    /// left to routing, so that CORS preflight requests still reach the app's CORS policy.
    /// </summary>
    private static Task WrongMethodAsync(HttpContext http, WireFormat format, string allowed)
    {
        http.Response.Headers.Allow = allowed;
        return RelayErrorWriter.WriteAsync(http, format, RelayError.MethodNotAllowed(http.Request.Method, allowed));
    }

    [LoggerMessage(1, LogLevel.Information, "The model relay is off ({Section}:Enabled=false); no relay endpoints are mapped")]
    private static partial void LogRelayDisabled(ILogger logger, string section);

    [LoggerMessage(2, LogLevel.Information, "The model relay is mapped at {Prefix}")]
    private static partial void LogRelayMapped(ILogger logger, string prefix);
}
