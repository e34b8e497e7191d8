using System.Buffers;
using Microsoft.ML.Tokenizers;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// A model's tokenizer, watched: every count of a text of at least <see cref="TokenizerWatch.LargeChars"/> chars is
/// counted in the watch (how many at once, how many in all) and held until the watch releases it, so a test can keep
/// large prompts in the tokenizer while it sends other requests. Only counting is supported: it is all the relay asks.
/// </summary>
internal sealed class HeldTokenizer(Tokenizer inner, TokenizerWatch watch) : Tokenizer
{
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        if (span.Length < watch.LargeChars)
        {
            return inner.CountTokens(span, settings.ConsiderPreTokenization, settings.ConsiderNormalization);
        }

        watch.Enter();
        try
        {
            return inner.CountTokens(span, settings.ConsiderPreTokenization, settings.ConsiderNormalization);
        }
        finally
        {
            watch.Exit();
        }
    }

    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings) =>
        throw new NotSupportedException("The relay only counts tokens.");

    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten) =>
        inner.Decode(ids, destination, out idsConsumed, out charsWritten);
}
