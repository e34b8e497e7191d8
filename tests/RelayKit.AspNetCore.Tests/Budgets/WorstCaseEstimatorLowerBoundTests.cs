using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// The lower bound that lets budget admission refuse a large prompt without tokenizing it: it rests on no token being
/// longer than <see cref="PromptTokenCounter.LongestTokenBytes"/>, and it must never exceed the estimate.
/// </summary>
public sealed class WorstCaseEstimatorLowerBoundTests
{
    private static readonly ModelPrice Price = new() { Input = 2m, Output = 8m };

    private readonly WorstCaseEstimator _estimator = new(new PromptTokenCounter(), Options.Create(new BudgetEstimateOptions()));

    [Theory]
    [InlineData("cl100k_base")]
    [InlineData("o200k_base")]
    public void No_token_of_the_encodings_the_relay_counts_with_is_longer_than_the_bound(string encoding)
    {
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);

        // The vocabulary as bytes is not public API; the test reads it the only way it can.
        var decoder = (IReadOnlyDictionary<int, ReadOnlyMemory<byte>>)typeof(TiktokenTokenizer)
            .GetProperty("Decoder", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)!.GetValue(tokenizer)!;
        Assert.True(decoder.Count >= 100_000, $"{encoding} has {decoder.Count} tokens");
        var longest = decoder.Values.Max(token => token.Length);
        var longestSpecial = tokenizer.SpecialTokens!.Keys.Max(Encoding.UTF8.GetByteCount);

        Assert.Equal(PromptTokenCounter.LongestTokenBytes, Math.Max(longest, longestSpecial));
    }

    [Theory]
    [InlineData("gpt-4o")]
    [InlineData("claude-sonnet-4-5")]
    public void The_bound_stays_below_the_count_even_for_text_made_of_the_longest_tokens(string model)
    {
        // Runs of 128 spaces are single tokens in both encodings: the one text the bound is tight for.
        var text = new string(' ', PromptTokenCounter.LongestTokenBytes * 50) + "x";
        var body = JsonSerializer.SerializeToElement(new { messages = new[] { new { role = "user", content = text } }, max_tokens = 10 });

        var lower = _estimator.LowerBound(body, PromptFormat.OpenAIChat, model, Price, null);
        var estimate = _estimator.Estimate(body, PromptFormat.OpenAIChat, model, Price, null);

        Assert.InRange(lower.PromptTokens, 51, estimate.PromptTokens);
        Assert.True(lower.Cost <= estimate.Cost);
    }

    [Fact]
    public void A_megabyte_of_prose_is_bounded_by_its_bytes_over_the_longest_token()
    {
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 24_000));
        var body = JsonSerializer.SerializeToElement(new { messages = new[] { new { role = "user", content = text } }, max_tokens = 100 });

        var lower = _estimator.LowerBound(body, PromptFormat.OpenAIChat, "gpt-4o", Price, null);

        // The text's bytes over 128, plus the chat framing (5 + 3) and the names "role", "user" and "content" (1 each,
        // plus one per property), which the bound counts as the estimate does.
        var textBytes = Encoding.UTF8.GetByteCount(text);
        Assert.Equal((textBytes + 127) / 128 + 8 + 5, lower.PromptTokens);
        Assert.Equal(100, lower.OutputTokens);
    }
}
