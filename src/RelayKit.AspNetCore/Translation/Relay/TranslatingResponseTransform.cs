using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Translation.Errors;
using RelayKit.AspNetCore.Translation.Requests;
using RelayKit.AspNetCore.Translation.Responses;
using RelayKit.AspNetCore.Translation.Streaming;

namespace RelayKit.AspNetCore.Translation.Relay;

/// <summary>
/// A stage of <see cref="ResponseChain"/>: restates the upstream's answer in the caller's wire format as it arrives: a
/// stream event by event (split once by the chain, translated by the stream translators), a whole JSON answer or an error
/// body once it has fully arrived (they are small and only meaningful whole).
/// </summary>
/// <param name="operation">The caller's operation.</param>
/// <param name="callerBody">The caller's own body.</param>
/// <param name="callerModel">The model name the answer gives.</param>
/// <param name="created">When the request started (the answer's <c>created</c>).</param>
/// <param name="usage">The request's meter, whose usage reading the translated stream reports; null: the translator's own.</param>
internal sealed class TranslatingResponseTransform(RelayOperation operation, JsonObject callerBody, string callerModel, DateTimeOffset created, Metering.UsageMeter? usage = null)
{
    private HttpResponse? _callerResponse;

    private readonly ArrayBufferWriter<byte> _whole = new();
    private IStreamTranslator? _stream;
    private BufferWriterSseSink? _sink;
    private bool _error;
    private int _upstreamStatus;

    private bool CallerIsAnthropic => operation == RelayOperation.Messages;

    /// <summary>Whether the answer is translated event by event (else it is read whole).</summary>
    public bool Streamed => _stream is not null;

    /// <summary>
    /// Called once the upstream answered, before any byte reaches the caller: sets the caller's status and headers (the
    /// forwarder has copied the upstream's already and drops Content-Length).
    /// </summary>
    public void Start(HttpResponseMessage response, HttpResponse callerResponse)
    {
        _upstreamStatus = (int)response.StatusCode;
        _callerResponse = callerResponse;
        if (!response.IsSuccessStatusCode)
        {
            // Mapped from the status alone for now; the forwarder holds an error's body (HoldsWholeBody), so
            // Complete sets the status the body calls for (OpenAI's 429 insufficient_quota is Anthropic's 402).
            _error = true;
            callerResponse.StatusCode = TranslateError(null).Status;
            callerResponse.ContentType = "application/json";
            return;
        }

        if (string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            Func<Pricing.TokenUsage?>? source = usage is null ? null : () => usage.Usage;
            _stream = operation == RelayOperation.ChatCompletions
                ? new MessagesToChatChunksStreamTranslator(ChatCompletionsToMessagesRequest.IncludeUsage(callerBody), created, callerModel) { UsageSource = source }
                : operation == RelayOperation.Responses
                    ? new MessagesToResponsesStreamTranslator(callerBody, created, callerModel) { UsageSource = source }
                    : new ChatChunksToMessagesStreamTranslator(callerModel) { UsageSource = source };
            callerResponse.ContentType = "text/event-stream; charset=utf-8";
        }
        else
        {
            callerResponse.ContentType = "application/json";
        }
    }

    /// <summary>Translates one upstream event into the caller's frames, from the chain's one parse of its data.</summary>
    public void WriteEvent(ref ResponseEvent item, IBufferWriter<byte> output)
    {
        if (item.IsEvent)
        {
            _stream!.Push(ref item, Sink(output));
        }
    }

    /// <summary>Takes the next chunk of a whole answer (JSON or an error body).</summary>
    public void Take(ReadOnlySpan<byte> upstreamChunk) => _whole.Write(upstreamChunk);

    /// <summary>
    /// After <see cref="Complete"/>: whether the event stream the caller received reached its normal end (false: it was
    /// ended with an error event of the translator's own); null for an answer that is not a stream.
    /// </summary>
    public bool? StreamCompleted => _stream?.IsComplete;

    /// <summary>The upstream body ended: the stream's end (or error event), or the whole answer translated.</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        if (_stream is not null)
        {
            _stream.Complete(Sink(output));
        }
        else if (_error)
        {
            var error = TranslateError(Encoding.UTF8.GetString(_whole.WrittenSpan));
            if (_callerResponse is { HasStarted: false } response)
            {
                response.StatusCode = error.Status;
            }

            output.Write(JsonSerializer.SerializeToUtf8Bytes(error.Body));
        }
        else
        {
            // Parsed once: the meter reads the same document for the answer's usage and model.
            using var document = JsonDocument.Parse(_whole.WrittenMemory);
            output.Write(JsonSerializer.SerializeToUtf8Bytes(TranslateAnswer(document.RootElement)));
            usage?.OnWholeAnswer(document.RootElement);
        }
    }

    private BufferWriterSseSink Sink(IBufferWriter<byte> output) => _sink ??= new BufferWriterSseSink(output);

    private TranslatedError TranslateError(string? body) => CallerIsAnthropic
        ? ErrorTranslation.OpenAIToAnthropic(_upstreamStatus, body)
        : ErrorTranslation.AnthropicToOpenAI(_upstreamStatus, body);

    private JsonObject TranslateAnswer(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The upstream's answer is not a JSON object.");
        }

        // A view over the document, read lazily; the translated answer is serialized before the document goes.
        var answer = JsonObject.Create(root)!;

        return operation == RelayOperation.ChatCompletions ? MessagesToChatCompletionResponse.Translate(answer, created, callerModel)
            : operation == RelayOperation.Responses ? MessagesToResponsesResponse.Translate(answer, callerBody, created, callerModel)
            : ChatCompletionToMessagesResponse.Translate(answer, callerModel);
    }
}
