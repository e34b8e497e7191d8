using System.Text;
using Microsoft.ML.Tokenizers;
using RelayKit.Tokens;

namespace RelayKit.AspNetCore.Tests.Tokens;

public sealed class BoundedTokenCountTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

    [Theory]
    [InlineData("")]
    [InlineData("Hello, world!")]
    [InlineData("See https://example.com/a/rather/long/path/that/is/still/well/under/the/limit?with=query&and=more#fragment for details.")]
    [InlineData("def f(x):\n\treturn x * 2  # doubled\n\n\n    indented\r\n")]
    public void Text_without_a_long_run_counts_exactly_as_the_tokenizer_does(string text)
    {
        var longer = string.Concat(Enumerable.Repeat(text + " ", 40));

        Assert.Equal(O200k.CountTokens(text), BoundedTokenCount.Count(O200k, text));
        Assert.Equal(O200k.CountTokens(longer), BoundedTokenCount.Count(O200k, longer));
    }

    [Fact]
    public void A_long_run_is_counted_in_pieces_of_the_bound_and_the_text_around_it_as_it_is()
    {
        const int pieces = 4_000;
        var run = new string('x', BoundedTokenCount.MaxRun * pieces);
        var perPiece = O200k.CountTokens(new string('x', BoundedTokenCount.MaxRun));

        // A million chars in one word: whole, the tokenizer takes time quadratic in it (minutes here); in pieces, linear.
        Assert.Equal(pieces * perPiece, BoundedTokenCount.Count(O200k, run));
        Assert.Equal(O200k.CountTokens("Before it, ") + (pieces * perPiece) + O200k.CountTokens(" and after."),
            BoundedTokenCount.Count(O200k, "Before it, " + run + " and after."));
    }

    [Fact]
    public void Pieces_over_count_a_run_a_little_and_never_under_count_it()
    {
        var random = new Random(7);
        var letters = new StringBuilder();
        for (var i = 0; i < 6_000; i++)
        {
            letters.Append((char)('a' + random.Next(26)));
        }

        foreach (var run in new[] { letters.ToString(), Convert.ToBase64String(Enumerable.Range(0, 6_000).Select(i => (byte)random.Next(256)).ToArray()) })
        {
            var whole = O200k.CountTokens(run);
            var bounded = BoundedTokenCount.Count(O200k, run);

            Assert.InRange(bounded, whole, whole * 1.05);
        }
    }

    [Fact]
    public void A_piece_boundary_never_splits_a_surrogate_pair()
    {
        // One char first puts every piece boundary in the middle of an emoji's surrogate pair.
        var run = "a" + string.Concat(Enumerable.Repeat("\U0001F600", BoundedTokenCount.MaxRun));
        var expected = O200k.CountTokens("a") + (O200k.CountTokens("\U0001F600") * BoundedTokenCount.MaxRun);
        Assert.Equal(expected, O200k.CountTokens(run));

        // Whole characters only: split halves would each count as a replacement character instead.
        Assert.Equal(expected, BoundedTokenCount.Count(O200k, run));
    }
}
