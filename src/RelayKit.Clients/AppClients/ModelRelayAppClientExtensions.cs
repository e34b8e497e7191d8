using Anthropic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenAI.Chat;
using RelayKit.AspNetCore.AppClients;
using RelayKit.AspNetCore.Hosting;

namespace RelayKit.AspNetCore;

/// <summary>
/// Registers the app's own model clients. With the relay on (the default) they call the relay in-process
/// under the app's own relay key (<c>app</c>), so the app's calls are routed, budgeted, limited and
/// recorded like anyone else's; with <c>ModelRelay:Enabled=false</c> the same registrations are the
/// official clients talking straight to the model's provider with its configured base URL and key.
/// </summary>
public static class ModelRelayAppClientExtensions
{
    /// <summary>
    /// Registers an <see cref="IChatClient"/> for <paramref name="model"/>, keyed by the model name; the
    /// first model registered is also the unkeyed <see cref="IChatClient"/>.
    /// </summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="model">The model name (or alias) as configured under <c>ModelRelay:Models</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IModelRelayBuilder AddChatClient(this IModelRelayBuilder builder, string model) =>
        Add<IChatClient>(builder, model, new(model, nameof(AddChatClient), null), (factory, m) => factory.CreateChatClient(m));

    /// <summary>
    /// Registers the official OpenAI <see cref="ChatClient"/> for <paramref name="model"/>, keyed by the model
    /// name; the first one registered is also unkeyed. Through the relay it reaches any model, Claude
    /// included (translated); without the relay only models of an OpenAI-kind provider.
    /// </summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="model">The model name (or alias) as configured under <c>ModelRelay:Models</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IModelRelayBuilder AddOpenAIChatClient(this IModelRelayBuilder builder, string model) =>
        Add(builder, model, new(model, nameof(AddOpenAIChatClient), ModelRelayProviderKind.OpenAI), (factory, m) => factory.CreateOpenAIChatClient(m));

    /// <summary>
    /// Registers the official <see cref="AnthropicClient"/> for <paramref name="model"/>, keyed by the model
    /// name; the first one registered is also unkeyed. Through the relay it reaches any model, GPT models
    /// included (translated); without the relay only models of an Anthropic-kind provider.
    /// </summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="model">The model name (or alias) as configured under <c>ModelRelay:Models</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IModelRelayBuilder AddAnthropicClient(this IModelRelayBuilder builder, string model) =>
        Add(builder, model, new(model, nameof(AddAnthropicClient), ModelRelayProviderKind.Anthropic), (factory, m) => factory.CreateAnthropicClient(m));

    private static IModelRelayBuilder Add<TClient>(IModelRelayBuilder builder, string model, AppClientRegistration registration, Func<AppModelClientFactory, string, TClient> create)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        var services = builder.Services;
        AddAppKey(services);
        services.TryAddSingleton<AppModelClientFactory>();

        // Checked when the host starts (ModelRelayOptions is validated on start), not at the first call.
        services.AddSingleton(registration);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelRelayOptions>, AppClientsValidator>());
        services.AddKeyedSingleton<TClient>(model, (sp, _) => create(sp.GetRequiredService<AppModelClientFactory>(), model));
        services.TryAddSingleton<TClient>(sp => sp.GetRequiredKeyedService<TClient>(model));
        return builder;
    }

    private static void AddAppKey(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(AppRelayKey)))
        {
            return;
        }

        services.AddSingleton<AppRelayKey>();
        services.AddOptions<ModelRelayOptions>().PostConfigure<AppRelayKey, IServiceProvider>((options, key, provider) =>
        {
            var configured = options.Keys.FirstOrDefault(k => string.Equals(k.Name, AppRelayKey.Name, StringComparison.Ordinal));
            if (configured is null)
            {
                options.Keys.Add(new ModelRelayKeyOptions { Name = AppRelayKey.Name, Secret = key.Secret });
            }
            else if (configured.Secret is { Length: > 0 } secret)
            {
                // A configured "app" key (with its budget and model list) is the one the app's calls use.
                key.Secret = secret;
            }
            else
            {
                throw new InvalidOperationException(
                    $"{(provider.GetService<RelaySection>() ?? RelaySection.Default).Path}:Keys has a key named 'app' without a Secret; the app's own clients need its secret to call with, so set Secret (not only SecretSha256) or rename the key.");
            }
        });
    }
}
