using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using RelayKit.AspNetCore.Hosting;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>
/// Builds the app's own clients for a model. With the relay on they are the official SDK clients on the
/// in-process relay handler with the relay's model name; with <c>ModelRelay:Enabled=false</c> they are the
/// same SDK clients with their own default transport, the provider's base URL and key and the upstream
/// model name, so no RelayKit code sits on their request path.
/// </summary>
internal sealed class AppModelClientFactory(IOptions<ModelRelayOptions> options, IServiceProvider services)
{
    // The SDK insists on a key; the in-process handler replaces it with the app's relay key.
    private const string InProcessPlaceholderKey = "in-process";

    private bool RelayOn => options.Value.Enabled;

    private string SettingsPath => (services.GetService<RelaySection>() ?? RelaySection.Default).Path;

    /// <summary>An <see cref="IChatClient"/> over the SDK of the model's provider.</summary>
    public IChatClient CreateChatClient(string model)
    {
        if (RelayOn)
        {
            var format = AppModelTarget.TryResolveKind(options.Value, model) ?? ModelRelayProviderKind.OpenAI;
            return format == ModelRelayProviderKind.Anthropic
                ? CreateAnthropicClient(model).AsIChatClient(model)
                : CreateOpenAIChatClient(model).AsIChatClient();
        }

        var target = AppModelTarget.Resolve(options.Value, model, SettingsPath);
        return target.Kind == ModelRelayProviderKind.Anthropic
            ? CreateAnthropicClient(model).AsIChatClient(target.UpstreamModel)
            : CreateOpenAIChatClient(model).AsIChatClient();
    }

    /// <summary>The official OpenAI chat client for the model.</summary>
    public ChatClient CreateOpenAIChatClient(string model)
    {
        if (RelayOn)
        {
            return new ChatClient(model, new ApiKeyCredential(InProcessPlaceholderKey), new OpenAIClientOptions
            {
                Endpoint = new Uri(InProcessRelayHandler.BaseAddress, "v1"),
                Transport = new HttpClientPipelineTransport(new HttpClient(CreateInProcessHandler(), disposeHandler: true)),
            });
        }

        var target = AppModelTarget.Resolve(options.Value, model, SettingsPath);
        if (target.Kind != ModelRelayProviderKind.OpenAI)
        {
            throw new InvalidOperationException($"The model '{model}' is served by an Anthropic provider; the OpenAI client cannot reach it without the relay. Use AddAnthropicClient or AddChatClient.");
        }

        return new ChatClient(target.UpstreamModel, new ApiKeyCredential(target.ApiKey ?? ""), new OpenAIClientOptions { Endpoint = target.BaseUrl });
    }

    /// <summary>The official Anthropic client for the model.</summary>
    public AnthropicClient CreateAnthropicClient(string model)
    {
        if (RelayOn)
        {
            return new AnthropicClient
            {
                ApiKey = InProcessPlaceholderKey,
                BaseUrl = InProcessRelayHandler.BaseAddress.AbsoluteUri.TrimEnd('/'),
                HttpClient = new HttpClient(CreateInProcessHandler(), disposeHandler: true),
            };
        }

        var target = AppModelTarget.Resolve(options.Value, model, SettingsPath);
        if (target.Kind != ModelRelayProviderKind.Anthropic)
        {
            throw new InvalidOperationException($"The model '{model}' is served by an OpenAI provider; the Anthropic client cannot reach it without the relay. Use AddOpenAIChatClient or AddChatClient.");
        }

        return new AnthropicClient { ApiKey = target.ApiKey, BaseUrl = target.BaseUrl.AbsoluteUri.TrimEnd('/') };
    }

    private InProcessRelayHandler CreateInProcessHandler() =>
        new(services, services.GetRequiredService<AppRelayKey>());
}
