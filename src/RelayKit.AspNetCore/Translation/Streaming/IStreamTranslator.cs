using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Translation.Streaming;

/// <summary>
/// Turns an upstream's server-sent events into the caller's, event by event as they arrive: each
/// <see cref="Push"/> writes what the caller can have now and keeps only the little state the next
/// events need, never the whole stream.
/// </summary>
internal interface IStreamTranslator
{
    /// <summary>The upstream's real usage as reported so far; complete once the upstream's stream has ended normally.</summary>
    TokenUsage? Usage { get; }

    /// <summary>Whether the upstream's answer reached its normal end (not cut off, not failed).</summary>
    bool IsComplete { get; }

    /// <summary>Translates one upstream event.</summary>
    /// <param name="eventName">The upstream's <c>event:</c> name, or <see langword="null"/>.</param>
    /// <param name="data">The upstream's <c>data:</c> payload.</param>
    /// <param name="output">Receives the caller's frames.</param>
    void Push(string? eventName, string data, ISseSink output);

    /// <summary>
    /// Ends the caller's stream after the upstream's ended. When the upstream stopped before its
    /// normal end, writes an error frame in the caller's format instead of a normal ending.
    /// </summary>
    /// <param name="output">Receives the caller's frames.</param>
    void Complete(ISseSink output);
}
