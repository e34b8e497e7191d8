namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// A model name or a wildcard pattern (<c>*</c> matches any run of characters), compared without regard
/// to case. Hand-written rather than FileSystemGlobbing because model names contain '/' (for example
/// <c>accounts/fireworks/models/x</c>), which path globbing treats as a separator.
/// </summary>
internal sealed class ModelPattern
{
    private ModelPattern(string text) => Text = text;

    /// <summary>The pattern as configured.</summary>
    public string Text { get; }

    /// <summary>Whether the text contains a wildcard.</summary>
    public bool IsWildcard => IsPattern(Text);

    /// <summary>
    /// How specific the pattern is: the count of literal characters. A longer literal wins when several
    /// wildcard model entries match (<c>gpt-5*</c> before <c>gpt-*</c>).
    /// </summary>
    public int Specificity => Text.Count(c => c != '*');

    public static bool IsPattern(string text) => text.Contains('*', StringComparison.Ordinal);

    public static ModelPattern Parse(string text) => new(text.Trim());

    public bool Matches(string model) => Match(Text.AsSpan(), model.AsSpan());

    public override string ToString() => Text;

    // Greedy match with backtracking to the last '*': linear for the patterns people write (one or two stars).
    private static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, resume = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = t;
            }
            else if (p < pattern.Length && char.ToUpperInvariant(pattern[p]) == char.ToUpperInvariant(text[t]))
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
