using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Forwarding;

namespace RelayKit.AspNetCore;

/// <summary>Further configuration of the model relay.</summary>
public static class ModelRelayBuilderExtensions
{
    /// <summary>
    /// Replaces the handler the relay sends upstream requests through, for example with a fake
    /// upstream's in-memory handler in tests. The function gets the provider's name and is called
    /// whenever the relay's <see cref="System.Net.Http.IHttpClientFactory"/> creates a handler for it.
    /// Without it the relay uses a <see cref="System.Net.Http.SocketsHttpHandler"/> set up for proxying.
    /// </summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="createHandler">Creates the primary handler for a provider name; null keeps the relay's own for that provider.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IModelRelayBuilder ConfigureUpstreamHandler(
        this IModelRelayBuilder builder,
        Func<IServiceProvider, string, HttpMessageHandler?> createHandler)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(createHandler);
        builder.Services.Configure<UpstreamHandlerOptions>(o => o.CreateHandler = createHandler);
        return builder;
    }
}
