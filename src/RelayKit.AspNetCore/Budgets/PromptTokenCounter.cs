using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// Picks the tokenizer for a model: OpenAI's own encoding when Microsoft.ML.Tokenizers knows the
/// model (gpt-4o, gpt-4.1, gpt-5, o-series: o200k_base; gpt-4, embeddings: cl100k_base), else
/// cl100k_base as an approximation that the estimator scales by a safety margin.
/// </summary>
internal sealed class PromptTokenCounter
{
    /// <summary>
    /// The most UTF-8 bytes one token of cl100k_base or o200k_base stands for: the longest entry of either vocabulary
    /// (a run of 128 spaces in both), special tokens included (<c>&lt;|endofprompt|&gt;</c>, 15 bytes). A test reads both
    /// vocabularies and checks it.
    /// </summary>
    /// <remarks>
    /// Why this bounds a count from below: a tiktoken encoding turns text into its UTF-8 bytes and covers them, with no
    /// gap and no overlap, by entries of its vocabulary (byte-level BPE has no normalizer and no unknown token: every
    /// single byte is an entry). So text of <c>n</c> bytes is at least <c>⌈n / 128⌉</c> tokens, and counting it in pieces
    /// (as <see cref="RelayKit.Tokens.BoundedTokenCount"/> does) only adds tokens. The relay counts with no other encoding.
    /// </remarks>
    public const int LongestTokenBytes = 128;

    private readonly Lazy<Tokenizer> _approximate;
    private readonly ConcurrentDictionary<string, Tokenizer?> _byModel = new(StringComparer.OrdinalIgnoreCase);
    private readonly Func<Tokenizer, Tokenizer> _decorate;

    /// <summary>Creates the counter.</summary>
    public PromptTokenCounter()
        : this(static tokenizer => tokenizer)
    {
    }

    /// <summary>A counter whose tokenizers are wrapped: tests observe or hold the tokenizer's work through this.</summary>
    internal PromptTokenCounter(Func<Tokenizer, Tokenizer> decorate)
    {
        _decorate = decorate;
        _approximate = new(() => _decorate(TiktokenTokenizer.CreateForEncoding("cl100k_base")));
    }

    /// <summary>The tokenizer to count <paramref name="model"/>'s prompts with, and whether it is exact.</summary>
    public (Tokenizer Tokenizer, bool Exact) For(string model)
    {
        var own = _byModel.GetOrAdd(model, name =>
        {
            try
            {
                return _decorate(TiktokenTokenizer.CreateForModel(name));
            }
            catch (NotSupportedException)
            {
                return null;
            }
        });
        return own is null ? (_approximate.Value, false) : (own, true);
    }
}
