namespace RelayKit.Testing;

/// <summary>Matches model names against patterns where <c>*</c> stands for any run of characters.</summary>
internal static class ModelPattern
{
    public static bool IsMatch(string pattern, string model)
    {
        if (!pattern.Contains('*', StringComparison.Ordinal))
        {
            return string.Equals(pattern, model, StringComparison.OrdinalIgnoreCase);
        }

        // Plain glob matching with backtracking over '*'; a regex would be overkill for one wildcard kind.
        int p = 0, m = 0, star = -1, mark = 0;
        while (m < model.Length)
        {
            if (p < pattern.Length && pattern[p] != '*' && char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(model[m]))
            {
                p++;
                m++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = m;
            }
            else if (star >= 0)
            {
                p = star + 1;
                m = ++mark;
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
