using System.Security.Cryptography;
using System.Text;

namespace RelayKit.AspNetCore.Keys;

/// <summary>How relay keys are stored: the SHA-256 of the UTF-8 secret, so configuration may hold the hash alone.</summary>
internal static class RelayKeyHash
{
    public const int Length = 32;

    public static byte[] Compute(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static void Compute(string secret, Span<byte> destination)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        SHA256.HashData(bytes, destination);
        CryptographicOperations.ZeroMemory(bytes);
    }

    public static bool TryParseHex(string hex, out byte[] hash)
    {
        hash = [];
        if (hex.Length != Length * 2 || !hex.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        hash = Convert.FromHexString(hex);
        return true;
    }
}
