using System.Text.RegularExpressions;
using RelayKit.Testing.Cassettes;

namespace RelayKit.Testing;

/// <summary>
/// Finds what looks like a credential in cassette files before they are committed: OpenAI keys
/// (<c>sk-…</c>, <c>sk-proj-…</c>), Anthropic keys (<c>sk-ant-…</c>), restricted keys (<c>rk-…</c>),
/// bearer tokens and credential query parameters (<c>?key=…</c> and the others always redacted). Call <see cref="AssertNoSecrets"/> from a test over your cassette folder.
/// </summary>
public static partial class CassetteSecretScanner
{
    /// <summary>Finds secret-looking values in a cassette file, or in every <c>*.json</c> file under a folder.</summary>
    /// <param name="path">A cassette file or a folder of cassettes.</param>
    /// <returns>The findings, masked; empty when the files are clean.</returns>
    public static IReadOnlyList<CassetteSecretFinding> Scan(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        IEnumerable<string> files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            : File.Exists(path) ? [path] : throw new FileNotFoundException($"No cassette file or folder at {path}.", path);
        var findings = new List<CassetteSecretFinding>();
        foreach (var file in files)
        {
            var number = 0;
            foreach (var line in File.ReadLines(file))
            {
                number++;
                findings.AddRange(ScanText(line).Select(f => new CassetteSecretFinding(file, number, f.Kind, f.Masked)));
            }
        }

        return findings;
    }

    /// <summary>Throws when a cassette file, or any cassette under a folder, holds something that looks like a key.</summary>
    /// <param name="path">A cassette file or a folder of cassettes.</param>
    /// <exception cref="InvalidOperationException">Something looks like a key; the message lists where, masked.</exception>
    public static void AssertNoSecrets(string path)
    {
        var findings = Scan(path);
        if (findings.Count > 0)
        {
            throw new InvalidOperationException(
                $"{findings.Count} value(s) in {path} look like credentials; redact them (CassetteOptions.RedactHeaders, " +
                "RedactJsonPaths) and re-record:\n  " + string.Join("\n  ", findings));
        }
    }

    internal static IEnumerable<(string Kind, string Masked)> ScanText(string text)
    {
        foreach (Match match in SecretPattern().Matches(text))
        {
            var kind = match.Groups["anthropic"].Success ? "Anthropic key"
                : match.Groups["openai"].Success ? "OpenAI key"
                : match.Groups["restricted"].Success ? "restricted key"
                : "bearer token";
            yield return (kind, Mask(match.Value));
        }

        // The parameter names are the ones the redactor always redacts, so what it leaves is what this finds.
        foreach (Match match in QueryParameterPattern().Matches(text))
        {
            if (CassetteRedactor.IsSecretQueryParameter(Uri.UnescapeDataString(match.Groups["name"].Value)))
            {
                yield return ("query-string key", Mask(match.Value));
            }
        }
    }

    private static string Mask(string value) => value.Length <= 10 ? new string('*', value.Length) : value[..10] + new string('*', Math.Min(value.Length - 10, 12));

    // Key bodies are long runs of letters, digits, '-' and '_'; the look-behind keeps words such as
    // "task-..." or "disk-..." from counting as keys. "Bearer [redacted]" does not match: '[' is not a token character.
    [GeneratedRegex(
        @"(?<![A-Za-z0-9_])(?:(?<anthropic>sk-ant-[A-Za-z0-9_\-]{16,})|(?<openai>sk-[A-Za-z0-9_\-]{20,})|(?<restricted>rk-[A-Za-z0-9_\-]{16,})|(?<bearer>[Bb]earer\s+[A-Za-z0-9._~+/\-]{16,}=*))",
        RegexOptions.CultureInvariant)]
    private static partial Regex SecretPattern();

    // A query parameter with a value of 16 or more token characters ("?key=[redacted]" does not match: '[' is not one).
    [GeneratedRegex(@"[?&](?<name>[A-Za-z0-9_.~%\-]+)=[A-Za-z0-9._~+/%\-]{16,}", RegexOptions.CultureInvariant)]
    private static partial Regex QueryParameterPattern();
}
