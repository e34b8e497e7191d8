using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Protocols;

/// <summary>
/// A reply resolved for one request, with what every renderer needs: ids, timestamp, tool-call ids
/// and the usage counted from the text that is actually returned.
/// </summary>
internal sealed class Answer
{
    private IReadOnlyList<string>? _textPieces;

    public Answer(FakeRequest request, FakeReply reply, FakeFault? fault, string id, long created, Func<string> newToolCallId)
    {
        Request = request;
        Reply = reply;
        Fault = fault;
        Id = id;
        Created = created;
        ToolCalls = reply.ToolCalls.Select(c => c with { Id = c.Id ?? newToolCallId() }).ToList();

        // A stream sends the text token by token: split and count it in one tokenizer pass.
        int textTokens;
        if (request.IsStreaming)
        {
            (_textPieces, textTokens) = TokenCounter.SplitAndCount(reply.Text);
        }
        else
        {
            textTokens = TokenCounter.Count(reply.Text);
        }

        var outputTokens = textTokens + reply.ReasoningTokens;
        foreach (var call in ToolCalls)
        {
            outputTokens += TokenCounter.Count(call.Name) + TokenCounter.Count(call.ArgumentsJson);
        }

        OutputTokens = outputTokens;
        InputTokens = Math.Max(1, TokenCounter.Count(request.PromptText));
        CachedInputTokens = Math.Min(reply.CachedInputTokens, InputTokens);
        CacheCreationInputTokens = Math.Min(reply.CacheCreationInputTokens, InputTokens - CachedInputTokens);
    }

    public FakeRequest Request { get; }

    public FakeReply Reply { get; }

    public FakeFault? Fault { get; }

    public string Id { get; }

    public long Created { get; }

    public string Model => Request.Model ?? "unknown";

    public IReadOnlyList<FakeToolCall> ToolCalls { get; }

    /// <summary>The reply's text in whole-token pieces, as a stream sends it (see <see cref="TokenCounter.SplitIntoTokens"/>).</summary>
    public IReadOnlyList<string> TextPieces => _textPieces ??= TokenCounter.SplitIntoTokens(Reply.Text ?? "");

    /// <summary>All input tokens, cached ones included (OpenAI's <c>prompt_tokens</c>).</summary>
    public int InputTokens { get; }

    public int OutputTokens { get; }

    public int CachedInputTokens { get; }

    public int CacheCreationInputTokens { get; }

    /// <summary>Input tokens that were neither read from nor written to the cache (Anthropic's <c>input_tokens</c>).</summary>
    public int UncachedInputTokens => InputTokens - CachedInputTokens - CacheCreationInputTokens;

    public bool OmitUsage => Fault?.OmitUsage == true;
}
