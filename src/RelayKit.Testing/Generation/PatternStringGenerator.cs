using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Bogus;

namespace RelayKit.Testing.Generation;

/// <summary>
/// Makes a string that matches a JSON-schema <c>pattern</c>, for the simple regexes schemas use: literals and
/// escapes, <c>.</c>, character classes (ranges, negation, <c>\d \w \s</c>), groups, alternation, anchors and the
/// quantifiers <c>? * + {n} {n,} {n,m}</c>. Anything else (lookarounds, backreferences, Unicode categories) is not
/// generated: the caller's value is kept, which is deterministic but may not match.
/// </summary>
internal static class PatternStringGenerator
{
    private const int Attempts = 20;
    private const int ExtraRepeats = 3;
    private const string Printable = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

    /// <summary>A string matching <paramref name="pattern"/> within the lengths, or <paramref name="fallback"/>.</summary>
    public static string Generate(string pattern, string fallback, int minLength, int maxLength, Faker faker)
    {
        if (Matches(pattern, fallback))
        {
            return fallback;
        }

        string? candidate = null;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var parser = new Parser(pattern, faker);
            try
            {
                candidate = parser.Generate();
            }
            catch (FormatException)
            {
                return fallback;
            }

            if (candidate.Length >= minLength && candidate.Length <= maxLength && Matches(pattern, candidate))
            {
                return candidate;
            }
        }

        return candidate is not null && Matches(pattern, candidate) ? candidate : fallback;
    }

    private static bool Matches(string pattern, string value)
    {
        try
        {
            return Regex.IsMatch(value, pattern, RegexOptions.None, TimeSpan.FromMilliseconds(200));
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>A recursive-descent pass over the pattern that writes one random match as it parses.</summary>
    private sealed class Parser(string pattern, Faker faker)
    {
        private int position;

        public string Generate()
        {
            var result = Alternation();
            if (position != pattern.Length)
            {
                throw new FormatException("Unbalanced group.");
            }

            return result;
        }

        private bool AtEnd => position >= pattern.Length;

        private string Alternation()
        {
            // Parse every branch (to move past them), then keep one at random.
            var branches = new List<string> { Sequence() };
            while (!AtEnd && pattern[position] == '|')
            {
                position++;
                branches.Add(Sequence());
            }

            return branches[faker.Random.Int(0, branches.Count - 1)];
        }

        private string Sequence()
        {
            var builder = new StringBuilder();
            while (!AtEnd && pattern[position] is not '|' and not ')')
            {
                var start = position;
                var atom = Atom();
                var (min, max) = Quantifier();
                if (min == 1 && max == 1)
                {
                    builder.Append(atom);
                    continue;
                }

                // Each repetition is a fresh draw of the atom, so "[a-z]{3}" gives three different letters.
                var count = faker.Random.Int(min, max);
                var end = position;
                for (var i = 0; i < count; i++)
                {
                    if (i == 0)
                    {
                        builder.Append(atom);
                        continue;
                    }

                    position = start;
                    builder.Append(Atom());
                }

                position = end;
            }

            return builder.ToString();
        }

        private string Atom()
        {
            var c = pattern[position++];
            switch (c)
            {
                case '^' or '$':
                    return string.Empty;
                case '.':
                    return Pick(Printable.Where(ch => ch != '\n').ToArray()).ToString();
                case '(':
                    if (position < pattern.Length && pattern[position] == '?')
                    {
                        if (position + 1 < pattern.Length && pattern[position + 1] == ':')
                        {
                            position += 2;
                        }
                        else
                        {
                            throw new FormatException("Lookarounds and named groups are not generated.");
                        }
                    }

                    var inner = Alternation();
                    if (AtEnd || pattern[position] != ')')
                    {
                        throw new FormatException("Unclosed group.");
                    }

                    position++;
                    return inner;
                case '[':
                    return Pick(Class()).ToString();
                case '\\':
                    return Pick(Escape(inClass: false)).ToString();
                case '*' or '+' or '?' or '{' or ')':
                    throw new FormatException("Quantifier without an atom.");
                default:
                    return c.ToString();
            }
        }

        private char[] Class()
        {
            var negated = !AtEnd && pattern[position] == '^';
            position += negated ? 1 : 0;
            var set = new HashSet<char>();
            var first = true;
            while (!AtEnd && (pattern[position] != ']' || first))
            {
                first = false;
                char[] item;
                var c = pattern[position++];
                item = c == '\\' ? Escape(inClass: true) : [c];
                if (item.Length == 1 && position + 1 < pattern.Length && pattern[position] == '-' && pattern[position + 1] != ']')
                {
                    position++;
                    var endChar = pattern[position++];
                    var end = endChar == '\\' ? Escape(inClass: true) : [endChar];
                    if (end.Length != 1 || end[0] < item[0])
                    {
                        throw new FormatException("Bad range.");
                    }

                    for (var ch = item[0]; ch <= end[0]; ch++)
                    {
                        set.Add(ch);
                    }

                    continue;
                }

                set.UnionWith(item);
            }

            if (AtEnd)
            {
                throw new FormatException("Unclosed class.");
            }

            position++;
            var chars = negated ? Printable.Where(ch => !set.Contains(ch)).ToArray() : set.ToArray();
            return chars.Length == 0 ? throw new FormatException("Empty class.") : chars;
        }

        private char[] Escape(bool inClass)
        {
            if (AtEnd)
            {
                throw new FormatException("Trailing backslash.");
            }

            var c = pattern[position++];
            if (c == 'u')
            {
                if (position + 4 > pattern.Length || !int.TryParse(pattern.AsSpan(position, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code))
                {
                    throw new FormatException("Bad Unicode escape.");
                }

                position += 4;
                return [(char)code];
            }

            return c switch
            {
                'd' => "0123456789".ToCharArray(),
                'w' => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_".ToCharArray(),
                's' => [' '],
                'D' => Printable.Where(ch => !char.IsAsciiDigit(ch)).ToArray(),
                'W' => Printable.Where(ch => !char.IsAsciiLetterOrDigit(ch) && ch != '_').ToArray(),
                'S' => Printable.Where(ch => ch != ' ').ToArray(),
                'n' => ['\n'],
                't' => ['\t'],
                'r' => ['\r'],
                'b' when inClass => ['\b'],
                _ when char.IsAsciiLetterOrDigit(c) => throw new FormatException("Unsupported escape."),
                _ => [c],
            };
        }

        private (int Min, int Max) Quantifier()
        {
            if (AtEnd)
            {
                return (1, 1);
            }

            (int, int) result;
            switch (pattern[position])
            {
                case '?':
                    position++;
                    result = (0, 1);
                    break;
                case '*':
                    position++;
                    result = (0, ExtraRepeats);
                    break;
                case '+':
                    position++;
                    result = (1, 1 + ExtraRepeats);
                    break;
                case '{':
                    var close = pattern.IndexOf('}', position);
                    if (close < 0)
                    {
                        return (1, 1);
                    }

                    var parts = pattern[(position + 1)..close].Split(',');
                    if (!int.TryParse(parts[0], CultureInfo.InvariantCulture, out var min) || parts.Length > 2)
                    {
                        throw new FormatException("Bad repetition.");
                    }

                    var max = parts.Length == 1 ? min
                        : parts[1].Length == 0 ? min + ExtraRepeats
                        : int.TryParse(parts[1], CultureInfo.InvariantCulture, out var m) ? m : throw new FormatException("Bad repetition.");
                    position = close + 1;
                    result = (Math.Min(min, 1000), Math.Clamp(max, Math.Min(min, 1000), 1000));
                    break;
                default:
                    return (1, 1);
            }

            // Lazy and possessive markers do not change what matches.
            if (!AtEnd && pattern[position] is '?' or '+')
            {
                position++;
            }

            return result;
        }

        private char Pick(char[] chars) => chars[faker.Random.Int(0, chars.Length - 1)];
    }
}
