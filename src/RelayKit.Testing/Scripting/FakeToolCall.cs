namespace RelayKit.Testing;

/// <summary>A tool call the fake answers with.</summary>
/// <param name="Name">The tool's name.</param>
/// <param name="ArgumentsJson">The call's arguments as a JSON object text.</param>
/// <param name="Id">The call id; generated in the provider's style when <see langword="null"/>.</param>
public sealed record FakeToolCall(string Name, string ArgumentsJson, string? Id = null);
