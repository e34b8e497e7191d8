namespace RelayKit.AspNetCore.Protocols;

/// <summary>The wire format a caller or a provider speaks.</summary>
internal enum WireFormat
{
    OpenAI,
    Anthropic,
}
