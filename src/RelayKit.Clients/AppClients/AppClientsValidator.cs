using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Hosting;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>
/// Checks at start that every registered app client can reach its model with the relay off
/// (<c>ModelRelay:Enabled=false</c>), where each one talks to the provider itself: the model is configured,
/// its provider has a kind, a base URL and a key, and the client speaks the provider's format. Otherwise the
/// host would start and the app's first call would fail with a 500 in the middle of a request.
/// With the relay on, the relay is what they reach, and its own validation covers the configuration.
/// </summary>
/// <param name="registrations">The app clients registered.</param>
/// <param name="section">The relay's configuration section, whose path the messages name; unset, <c>ModelRelay</c>.</param>
internal sealed class AppClientsValidator(IEnumerable<AppClientRegistration> registrations, RelaySection? section = null) : IValidateOptions<ModelRelayOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelRelayOptions options)
    {
        if (options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var path = (section ?? RelaySection.Default).Path;
        var failures = new List<string>();
        foreach (var client in registrations.Distinct())
        {
            var call = $"{client.Method}(\"{client.Model}\")";
            if (!AppModelTarget.TryResolve(options, client.Model, path, out var target, out var missing))
            {
                failures.Add($"{call} with the relay off ({path}:Enabled=false): {missing}");
                continue;
            }

            if (string.IsNullOrEmpty(target.ApiKey))
            {
                failures.Add($"{call} with the relay off ({path}:Enabled=false) calls provider '{target.Provider}' itself and needs its key: set {path}:Providers:{target.Provider}:ApiKey.");
            }

            if (client.RequiredKind is { } kind && kind != target.Kind)
            {
                failures.Add($"{call}: the model is served by provider '{target.Provider}' in the {target.Kind} format, which the {Describe(kind)} client cannot reach without the relay ({path}:Enabled=false). "
                    + $"Register it with {(kind == ModelRelayProviderKind.OpenAI ? "AddAnthropicClient" : "AddOpenAIChatClient")} or AddChatClient, or keep the relay on.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Describe(ModelRelayProviderKind kind) => kind == ModelRelayProviderKind.OpenAI ? "OpenAI" : "Anthropic";
}
