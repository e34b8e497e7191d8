namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The allowances of the worst-case estimate. The defaults are documented in README.md ("Budgets").
/// </summary>
internal sealed class BudgetEstimateOptions
{
    /// <summary>
    /// Multiplier on the cl100k_base count for models whose tokenizer the relay does not have
    /// (Anthropic, DeepSeek, anything not OpenAI): Claude's tokenizers produce up to roughly a third
    /// more tokens than OpenAI's on code, so 1.5 leaves headroom.
    /// </summary>
    public decimal ApproximateTokenizerMargin { get; set; } = 1.5m;

    /// <summary>
    /// Tokens charged for one image, whatever its size: above OpenAI's high-detail tiles (at most
    /// 1,105 for gpt-4o), its patch-based models (at most 1,536 patches x 1.72) and Anthropic's
    /// (about 1,600 for the largest image it accepts without downscaling).
    /// </summary>
    public int ImageTokens { get; set; } = 3_000;

    /// <summary>Chat-format tokens around each message (start, role, separator, end).</summary>
    public int MessageOverheadTokens { get; set; } = 5;

    /// <summary>Tokens that prime the reply (<c>assistant</c> header).</summary>
    public int ReplyPrimingTokens { get; set; } = 3;

    /// <summary>Tokens around each tool definition.</summary>
    public int ToolOverheadTokens { get; set; } = 12;

    /// <summary>
    /// Tokens of the system prompt Anthropic adds when tools are present (346 for Claude 4 models
    /// at the time of writing).
    /// </summary>
    public int AnthropicToolSystemPromptTokens { get; set; } = 500;

    /// <summary>
    /// The output cap assumed when neither the request nor the model's configuration sets one; the
    /// relay then has to put this cap into the forwarded request.
    /// </summary>
    public int DefaultOutputCap { get; set; } = 32_768;

    /// <summary>
    /// A request body at least this large (UTF-8 bytes) is a large prompt: before it is tokenized, budget admission
    /// refuses it if even a lower bound of its cost (found without tokenizing) does not fit the key's balance, and its
    /// tokenizing waits for one of its key's <see cref="LargePromptCountsPerKey"/> slots. Smaller prompts tokenize at
    /// once (a few milliseconds at most).
    /// </summary>
    public int LargePromptBytes { get; set; } = 128 * 1024;

    /// <summary>How many large prompts of one key are tokenized at once (each takes a core while it is).</summary>
    public int LargePromptCountsPerKey { get; set; } = 1;

    /// <summary>How many more large prompts of one key may wait for a slot; past that they are refused with 429.</summary>
    public int LargePromptQueuePerKey { get; set; } = 32;
}
