using System.Text.Json.Nodes;
using RelayKit.Testing.Streaming;

namespace RelayKit.Testing.Protocols;

/// <summary>Renders an <see cref="Answer"/> in one endpoint's wire format, whole or as a stream.</summary>
internal interface IAnswerRenderer
{
    JsonObject RenderBody(Answer answer);

    IEnumerable<SseEvent> RenderStream(Answer answer);

    /// <summary>The event a provider sends when a stream fails midway; <see langword="null"/> ends the stream after it.</summary>
    SseEvent RenderStreamError(Answer answer, string errorType, string message);

    /// <summary>The event that ends the stream, written after a cut-free stream (OpenAI's <c>[DONE]</c>), if any.</summary>
    SseEvent? Terminator { get; }
}
