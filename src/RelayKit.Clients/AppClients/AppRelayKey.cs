using System.Security.Cryptography;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>
/// The relay key the app's own clients call with, so the app's calls are routed, budgeted, limited and
/// recorded under a key of their own (<see cref="Name"/>). Configure a key of that name to give it a
/// budget or model list; otherwise one with a random secret is added, which never leaves the process.
/// </summary>
internal sealed class AppRelayKey
{
    /// <summary>The key name the app's own calls are recorded under.</summary>
    public const string Name = "app";

    public string Secret { get; set; } = "rk-app-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}
