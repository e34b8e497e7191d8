using System.Text.RegularExpressions;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// Redacts secret-looking strings from the free text a usage record may carry (prompts, completions,
/// labels), so a key pasted into a prompt or used as a key name never reaches a store, log or export.
/// The relay never hands secrets to the usage path on purpose; this is the second line.
/// </summary>
internal static partial class SecretScrubber
{
    public const string Redacted = "[redacted]";

    // Provider and relay keys (sk-…, sk-ant-…, rk-…, pk_…, key-…), bearer credentials and JWTs. An sk- or rk-
    // key is one whatever its tail ("rk-dev-local-only", the sample's, has no digit). Behind the other prefixes a
    // key's random tail holds a digit or a capital letter; requiring one keeps names like "api_connection_error" or
    // "key_rotation_required" readable.
    [GeneratedRegex(
        @"\b[sSrR][kK]-[A-Za-z0-9_\-]{12,}" +
        @"|\b(?:[sSrRpP][kK]|[kK]ey|[aA]pi)[-_](?=[A-Za-z0-9_\-]*[0-9A-Z])[A-Za-z0-9_\-]{12,}" +
        @"|\b[bB]earer\s+[A-Za-z0-9._~+/\-]+=*" +
        @"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+",
        RegexOptions.CultureInvariant)]
    private static partial Regex SecretPattern();

    /// <summary>The text with every secret-looking string replaced by <see cref="Redacted"/>.</summary>
    public static string? Scrub(string? text) =>
        string.IsNullOrEmpty(text) ? text : SecretPattern().Replace(text, Redacted);

    /// <summary>
    /// A caller's key name as it may be kept: a created key's id (<c>key_</c> and 16 random letters and digits) is the
    /// relay's own label, not a secret, though it looks like one to <see cref="Scrub"/>; redacting it would leave the
    /// key unable to find its own usage.
    /// </summary>
    public static string? ScrubKeyName(string? keyName) =>
        keyName is not null && Keys.RelayKeySecret.IsId(keyName) ? keyName : Scrub(keyName);

    /// <summary>Whether the text holds a secret-looking string.</summary>
    public static bool LooksSecret(string? text) => !string.IsNullOrEmpty(text) && SecretPattern().IsMatch(text);
}
