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

    /// <summary>Whether <paramref name="text"/> has the shape of an id from <see cref="NewId"/>.</summary>
    public static bool IsId(string text) =>
        text.Length == 20 && text.StartsWith("key_", StringComparison.Ordinal) && text.AsSpan(4).IndexOfAnyExcept(Alphabet) < 0;
}
