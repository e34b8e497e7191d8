namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>The four wire shapes a burst mixes: OpenAI chat and Anthropic messages, each whole and streamed.</summary>
internal enum CallKind
{
    ChatJson,
    ChatStream,
    MessagesJson,
    MessagesStream,
}
