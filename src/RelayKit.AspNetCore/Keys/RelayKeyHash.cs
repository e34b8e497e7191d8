using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace RelayKit.AspNetCore.Keys;

/// <summary>How relay keys are stored: the SHA-256 of the UTF-8 secret, so configuration may hold the hash alone.</summary>
internal static class RelayKeyHash
{
    public const int Length = 32;

    public static byte[] Compute(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static void Compute(string secret, Span<byte> destination) => Compute(secret.AsSpan(), destination);

    /// <summary>
    /// The hash of a secret read from a header in place: its UTF-8 goes to the stack (or a pooled buffer when
    /// long) and is wiped, so the request path copies the secret into no string or array left for the GC.
    /// </summary>
    public static void Compute(ReadOnlySpan<char> secret, Span<byte> destination)
    {
        const int StackLimit = 512;
        var length = Encoding.UTF8.GetByteCount(secret);
        byte[]? rented = null;
        var bytes = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        bytes = bytes[..length];
        try
        {
            Encoding.UTF8.GetBytes(secret, bytes);
            SHA256.HashData(bytes, destination);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The hash of a secret read from a header in place, as a new array.</summary>
    public static byte[] Compute(ReadOnlySpan<char> secret)
    {
        var hash = new byte[Length];
        Compute(secret, hash);
        return hash;
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
