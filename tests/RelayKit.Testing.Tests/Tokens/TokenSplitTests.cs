using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Tests.Tokens;

public sealed class TokenSplitTests
{
    [Theory]
    [InlineData("Plain ASCII text, with punctuation.")]
    [InlineData("Emoji 🌊🌊 and 👩‍👩‍👧 families")]
    [InlineData("日本語のテキストと中文")]
    [InlineData("Café naïve – “quotes” e\u0301")]
    [InlineData("🌊")]
    public void Split_pieces_join_back_to_the_text_without_repeating_or_halving_characters(string text)
    {
        var pieces = TokenCounter.SplitIntoTokens(text);

        Assert.Equal(text, string.Concat(pieces));
        Assert.All(pieces, p => Assert.False(char.IsHighSurrogate(p[^1]), $"piece '{p}' ends inside a surrogate pair"));
        Assert.InRange(pieces.Count, 1, TokenCounter.Count(text));
    }
}
