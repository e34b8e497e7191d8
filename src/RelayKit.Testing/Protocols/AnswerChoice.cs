namespace RelayKit.Testing.Protocols;

/// <summary>One choice of an answer: its reply, and its tool calls with their ids resolved.</summary>
internal sealed record AnswerChoice(FakeReply Reply, IReadOnlyList<FakeToolCall> ToolCalls);
