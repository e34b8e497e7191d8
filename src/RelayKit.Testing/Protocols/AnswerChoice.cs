using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Protocols;

/// <summary>One choice of an answer: its reply, and its tool calls with their ids resolved.</summary>
internal sealed class AnswerChoice(FakeReply reply, IReadOnlyList<FakeToolCall> toolCalls)
{
    private IReadOnlyList<string>? _textPieces;

    public FakeReply Reply { get; } = reply;

    public IReadOnlyList<FakeToolCall> ToolCalls { get; } = toolCalls;

    /// <summary>The reply's text in whole-token pieces, as a stream sends it (see <see cref="TokenCounter.SplitIntoTokens"/>).</summary>
    public IReadOnlyList<string> TextPieces => _textPieces ??= TokenCounter.SplitIntoTokens(Reply.Text ?? "");

    /// <summary>
    /// The tokens of the reply's text. A stream sends the text token by token, so there the text is split and counted
    /// in one tokenizer pass and the pieces kept for <see cref="TextPieces"/>.
    /// </summary>
    public int CountTextTokens(bool streaming)
    {
        if (!streaming)
        {
            return TokenCounter.Count(Reply.Text);
        }

        (_textPieces, var count) = TokenCounter.SplitAndCount(Reply.Text);
        return count;
    }
}
