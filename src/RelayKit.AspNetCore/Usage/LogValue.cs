using System.Text;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The one way a value that a caller or an admin controls (a model name, a key name, a provider's message) goes into
/// a log line: secret-looking strings redacted by <see cref="SecretScrubber"/>, as in usage records, and control
/// characters escaped (<c>\r</c>, <c>\n</c>, <c>\t</c>, others as <c>\uXXXX</c>), so a name cannot forge a log line
/// or hide a secret behind a line break.
/// </summary>
internal static class LogValue
{
    /// <summary>The value as a log line may carry it; null stays null.</summary>
    public static string? Of(string? value) => Escaped(SecretScrubber.Scrub(value));

    /// <summary>
    /// A key's name or id as a log line may carry it: scrubbed as usage records scrub it
    /// (<see cref="SecretScrubber.ScrubKeyName"/>, which keeps a created key's id), then escaped.
    /// </summary>
    public static string? OfKeyName(string? keyName) => Escaped(SecretScrubber.ScrubKeyName(keyName));

    private static string? Escaped(string? scrubbed)
    {
        if (string.IsNullOrEmpty(scrubbed))
        {
            return scrubbed;
        }

        return scrubbed.AsSpan().IndexOfAnyInRange('\0', '\x1f') < 0 && !scrubbed.Contains('\x7f', StringComparison.Ordinal)
            ? scrubbed
            : Escape(scrubbed);
    }

    private static string Escape(string value)
    {
        var text = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\r' => text.Append("\\r"),
                '\n' => text.Append("\\n"),
                '\t' => text.Append("\\t"),
                < ' ' or '\x7f' => text.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)),
                _ => text.Append(c),
            };
        }

        return text.ToString();
    }
}
