using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Protocols;

/// <summary>
/// A reply resolved for one request, with what every renderer needs: ids, timestamp, tool-call ids
/// and the usage counted from the text that is actually returned.
/// </summary>
internal sealed class Answer
{
    public Answer(FakeRequest request, FakeReply reply, FakeFault? fault, string id, long created, Func<string> newToolCallId)
        : this(request, [reply], fault, id, created, newToolCallId)
    {
    }

    public Answer(FakeRequest request, IReadOnlyList<FakeReply> choices, FakeFault? fault, string id, long created, Func<string> newToolCallId)
    {
        Request = request;
        Fault = fault;
        Id = id;
        Created = created;
        Choices = [.. choices.Select(reply => new AnswerChoice(reply, [.. reply.ToolCalls.Select(c => c with { Id = c.Id ?? newToolCallId() })]))];

        // Every choice is output the caller pays for (OpenAI's completion_tokens counts all n of them); thinking is
        // output only where a format shows it.
        var outputTokens = 0;
        foreach (var choice in Choices)
        {
            outputTokens += choice.CountTextTokens(request.IsStreaming) + choice.Reply.ReasoningTokens;
            if (request.Endpoint == FakeEndpoint.AnthropicMessages)
            {
                outputTokens += TokenCounter.Count(choice.Reply.Thinking) + TokenCounter.Count(choice.Reply.RedactedThinking);
            }

            foreach (var call in choice.ToolCalls)
            {
                outputTokens += TokenCounter.Count(call.Name) + TokenCounter.Count(call.ArgumentsJson);
            }
        }

        OutputTokens = outputTokens;
        InputTokens = Math.Max(1, TokenCounter.Count(request.PromptText));
        CachedInputTokens = Math.Min(Reply.CachedInputTokens, InputTokens);
        CacheCreationInputTokens = Math.Min(Reply.CacheCreationInputTokens, InputTokens - CachedInputTokens);
    }

    public FakeRequest Request { get; }

    /// <summary>The answer's choices, one unless an OpenAI chat request asked for <c>n</c>; the first is <see cref="Reply"/>.</summary>
    public IReadOnlyList<AnswerChoice> Choices { get; }

    public FakeReply Reply => Choices[0].Reply;

    public FakeFault? Fault { get; }

    public string Id { get; }

    public long Created { get; }

    public string Model => Request.Model ?? "unknown";

    public IReadOnlyList<FakeToolCall> ToolCalls => Choices[0].ToolCalls;

    /// <summary>The first choice's text in whole-token pieces, as a stream sends it (see <see cref="AnswerChoice.TextPieces"/>).</summary>
    public IReadOnlyList<string> TextPieces => Choices[0].TextPieces;

    /// <summary>All input tokens, cached ones included (OpenAI's <c>prompt_tokens</c>).</summary>
    public int InputTokens { get; }

    public int OutputTokens { get; }

    public int CachedInputTokens { get; }

    public int CacheCreationInputTokens { get; }

    /// <summary>Input tokens that were neither read from nor written to the cache (Anthropic's <c>input_tokens</c>).</summary>
    public int UncachedInputTokens => InputTokens - CachedInputTokens - CacheCreationInputTokens;

    public bool OmitUsage => Fault?.OmitUsage == true;
}
