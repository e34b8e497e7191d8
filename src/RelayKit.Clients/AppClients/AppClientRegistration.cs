using RelayKit.AspNetCore.Hosting;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>One app client the host registered, kept so the configuration can be checked against it at start.</summary>
/// <param name="Model">The model name (or alias) the client is for.</param>
/// <param name="Method">The registration call, as the host wrote it (<c>AddOpenAIChatClient</c>).</param>
/// <param name="RequiredKind">The provider kind the client can reach without the relay; null when it speaks either.</param>
internal sealed record AppClientRegistration(string Model, string Method, ModelRelayProviderKind? RequiredKind);
