using Microsoft.ML.Tokenizers;
using RelayKit.Tokens;

namespace RelayKit.Testing.Tokens;

/// <summary>
/// Counts tokens the way OpenAI's current models do (o200k_base), so the usage the fake reports
/// matches the text it returned. Anthropic does not publish its tokenizer; the fake uses the same
/// encoding for both providers, which keeps counts consistent across formats.
/// </summary>
internal static class TokenCounter
{
    // The tokenizer is immutable and thread-safe once built; building it parses a large vocabulary,
    // so it is built once per process.
    private static readonly Lazy<Tokenizer> Encoding = new(
        () => TiktokenTokenizer.CreateForEncoding("o200k_base"),
        LazyThreadSafetyMode.ExecutionAndPublication);

    public static int Count(string? text) =>
        string.IsNullOrEmpty(text) ? 0 : BoundedTokenCount.Count(Encoding.Value, text);

    /// <summary>
    /// Splits text into pieces of whole tokens, for streaming chunk by chunk. Byte-level tokens that share
    /// one character (an emoji, a flag) report overlapping offsets; they become one piece, so the pieces
    /// always join back into the text exactly and never split a character.
    /// </summary>
    public static IReadOnlyList<string> SplitIntoTokens(string text) => SplitAndCount(text).Pieces;

    /// <summary>
    /// <see cref="SplitIntoTokens"/> and <see cref="Count"/> from one pass of the tokenizer, for a streamed answer
    /// that needs both (tokenizing is most of what a generated answer costs). The count is <see cref="Count"/>'s:
    /// the pass's own token count, unless the text holds a run long enough for the bounded count to cut it.
    /// </summary>
    public static (IReadOnlyList<string> Pieces, int Count) SplitAndCount(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return ([], 0);
        }

        var pieces = new List<string>();
        var consumed = 0;
        var tokens = Encoding.Value.EncodeToTokens(text, out _);
        foreach (var token in tokens)
        {
            var end = Math.Min(text.Length, Math.Max(consumed, token.Offset.End.Value));
            if (end < text.Length && end > 0 && char.IsHighSurrogate(text[end - 1]))
            {
                end++;
            }

            if (end > consumed)
            {
                pieces.Add(text[consumed..end]);
                consumed = end;
            }
        }

        if (consumed < text.Length)
        {
            pieces.Add(text[consumed..]);
        }

        return (pieces, HasLongRun(text) ? Count(text) : tokens.Count);
    }

    /// <summary>Whether the text holds a run <see cref="BoundedTokenCount"/> counts in pieces (no blank for <see cref="BoundedTokenCount.MaxRun"/> chars).</summary>
    private static bool HasLongRun(string text)
    {
        var run = 0;
        foreach (var c in text)
        {
            run = c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v' ? 0 : run + 1;
            if (run >= BoundedTokenCount.MaxRun)
            {
                return true;
            }
        }

        return false;
    }
}
