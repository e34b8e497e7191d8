namespace RelayKit.AspNetCore.Translation.Streaming;

/// <summary>Where a stream translator writes the caller's server-sent events, one frame per call.</summary>
internal interface ISseSink
{
    /// <summary>Writes one frame: <c>event: {eventName}</c> (when not <see langword="null"/>) and <c>data: {data}</c>.</summary>
    /// <param name="eventName">The event name, or <see langword="null"/> for a data-only frame (OpenAI Chat Completions).</param>
    /// <param name="data">The payload, usually one line of JSON.</param>
    void Write(string? eventName, string data);
}
