using RelayKit.AspNetCore.Forwarding;
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

    /// <summary>
    /// Translates one upstream event, reading its data from the response chain's one parse of it
    /// (<see cref="ResponseEvent.TryGetObject"/>): the event is not parsed again. What a translator reads of the event
    /// lives only for this call (the chain disposes the parse after it), so it keeps strings and numbers, never nodes.
    /// </summary>
    /// <param name="item">The upstream's event: its <c>event:</c> name and its <c>data:</c>, parsed.</param>
    /// <param name="output">Receives the caller's frames.</param>
    /// <exception cref="TranslationException">The data is not a JSON object, or a field has the wrong shape.</exception>
    void Push(ref ResponseEvent item, ISseSink output);

    /// <summary>
    /// Ends the caller's stream after the upstream's ended. When the upstream stopped before its
    /// normal end, writes an error frame in the caller's format instead of a normal ending.
    /// </summary>
    /// <param name="output">Receives the caller's frames.</param>
    void Complete(ISseSink output);
}
