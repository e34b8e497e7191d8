using System.Security.Cryptography;
using System.Text;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>Hashes of the test keys, as an operator would put them in configuration.</summary>
internal static class RelaySettingsHash
{
    public static readonly string OfAlice = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(RelaySettings.AliceKey))).ToLowerInvariant();
}
