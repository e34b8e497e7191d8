using Microsoft.ML.Tokenizers;

namespace RelayKit.Testing.Tests.Tokens;

/// <summary>
/// The o200k_base tokenizer, built once for the whole test run (building it parses a large vocabulary),
/// independently of the fake's own instance so usage assertions do not trust the code under test.
/// </summary>
internal static class O200k
{
    private static readonly Lazy<Tokenizer> Instance = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public static int Count(string text) => Instance.Value.CountTokens(text);
}
