using System.Security.Cryptography;

namespace RelayKit.AspNetCore.Keys;

/// <summary>New secrets and ids for keys created at run time.</summary>
internal static class RelayKeySecret
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// <summary>A new secret: <c>rk-</c> and 40 random letters and digits (about 238 bits).</summary>
    public static string NewSecret() => "rk-" + RandomNumberGenerator.GetString(Alphabet, 40);

    /// <summary>A new key id: <c>key_</c> and 16 random letters and digits; not secret.</summary>
    public static string NewId() => "key_" + RandomNumberGenerator.GetString(Alphabet, 16);

    /// <summary>
    /// The key id for a key created with a paid credit under <paramref name="reference"/>: <c>key_</c> and 16 letters and
    /// digits derived from the reference, so a creation retried with the same reference (its key-store write failed after
    /// the credit was applied) reaches the same account instead of leaving the credit on one no key owns.
    /// </summary>
    public static string IdFor(string reference)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("relaykit-key:" + reference), hash);
        Span<char> id = stackalloc char[16];
        for (var i = 0; i < id.Length; i++)
        {
            id[i] = Alphabet[hash[i] % Alphabet.Length];
        }

        return "key_" + new string(id);
    }

    /// <summary>Whether <paramref name="text"/> has the shape of an id from <see cref="NewId"/>.</summary>
    public static bool IsId(string text) =>
        text.Length == 20 && text.StartsWith("key_", StringComparison.Ordinal) && text.AsSpan(4).IndexOfAnyExcept(Alphabet) < 0;
}
