namespace RelayKit.Testing.Streaming;

/// <summary>One server-sent event: an optional <c>event:</c> name and its <c>data:</c> payload.</summary>
internal readonly record struct SseEvent(string? Name, string Data)
{
    public string Format() => Name is null ? $"data: {Data}\n\n" : $"event: {Name}\ndata: {Data}\n\n";
}
