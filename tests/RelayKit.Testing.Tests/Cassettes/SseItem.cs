namespace RelayKit.Testing.Tests.Cassettes;

/// <summary>One server-sent event as a client read it.</summary>
internal sealed record SseItem(string? Event, string Data);
