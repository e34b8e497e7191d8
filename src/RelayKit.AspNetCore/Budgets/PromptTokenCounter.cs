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
    private readonly Lazy<Tokenizer> _approximate = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));
    private readonly ConcurrentDictionary<string, Tokenizer?> _byModel = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The tokenizer to count <paramref name="model"/>'s prompts with, and whether it is exact.</summary>
    public (Tokenizer Tokenizer, bool Exact) For(string model)
    {
        var own = _byModel.GetOrAdd(model, static name =>
        {
            try
            {
                return TiktokenTokenizer.CreateForModel(name);
            }
            catch (NotSupportedException)
            {
                return null;
            }
        });
        return own is null ? (_approximate.Value, false) : (own, true);
    }
}
