using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Translation.Errors;
using RelayKit.AspNetCore.Translation.Requests;
using RelayKit.AspNetCore.Translation.Responses;
using RelayKit.AspNetCore.Translation.Streaming;

namespace RelayKit.AspNetCore.Translation.Relay;

/// <summary>
/// Restates the upstream's answer in the caller's wire format as it arrives: a stream event by event
/// (split with <see cref="SseEventSplitter"/>, translated by the stream translators), a whole JSON answer
/// or an error body once it has fully arrived (they are small and only meaningful whole).
/// </summary>
internal sealed class TranslatingResponseTransform(RelayOperation operation, JsonObject callerBody, string callerModel, DateTimeOffset created)
    : IResponseBodyTransform
{
    private HttpResponse? _callerResponse;

    private readonly SseEventSplitter _splitter = new();
    private readonly ArrayBufferWriter<byte> _whole = new();
    private IStreamTranslator? _stream;
    private bool _error;
    private int _upstreamStatus;

    private bool CallerIsAnthropic => operation == RelayOperation.Messages;

    public void OnResponseStarted(HttpResponseMessage response, HttpResponse callerResponse)
    {
        _upstreamStatus = (int)response.StatusCode;
        _callerResponse = callerResponse;
        if (!response.IsSuccessStatusCode)
        {
            // Mapped from the status alone for now; the forwarder holds an error's body (HoldsWholeBody), so
            // CompleteAsync sets the status the body calls for (OpenAI's 429 insufficient_quota is Anthropic's 402).
            _error = true;
            callerResponse.StatusCode = TranslateError(null).Status;
            callerResponse.ContentType = "application/json";
            return;
        }

        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            _stream = operation == RelayOperation.ChatCompletions
                ? new MessagesToChatChunksStreamTranslator(ChatCompletionsToMessagesRequest.IncludeUsage(callerBody), created, callerModel)
                : operation == RelayOperation.Responses
                    ? new MessagesToResponsesStreamTranslator(callerBody, created, callerModel)
                    : new ChatChunksToMessagesStreamTranslator(callerModel);
            callerResponse.ContentType = "text/event-stream; charset=utf-8";
        }
        else
        {
            callerResponse.ContentType = "application/json";
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> upstreamChunk, Stream caller, CancellationToken cancellationToken)
    {
        if (_stream is null)
        {
            _whole.Write(upstreamChunk.Span);
            return;
        }

        var output = new ArrayBufferWriter<byte>();
        var sink = new BufferWriterSseSink(output);
        _splitter.Push(upstreamChunk.Span, (name, data) => PushEvent(name, data, sink));
        if (output.WrittenCount > 0)
        {
            await caller.WriteAsync(output.WrittenMemory, cancellationToken);
        }
    }

    /// <summary>The translators work on strings: translated streams are the rarer path, and each event is rewritten anyway.</summary>
    private void PushEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data, ISseSink sink) =>
        _stream!.Push(name.IsEmpty ? null : Encoding.UTF8.GetString(name), Encoding.UTF8.GetString(data.Span), sink);

    public bool? StreamCompleted => _stream?.IsComplete;

    public async ValueTask CompleteAsync(bool completed, Stream caller, CancellationToken cancellationToken)
    {
        byte[] bytes;
        if (_stream is not null)
        {
            var output = new ArrayBufferWriter<byte>();
            var sink = new BufferWriterSseSink(output);
            _splitter.Complete((name, data) => PushEvent(name, data, sink));
            _stream.Complete(sink);
            bytes = output.WrittenSpan.ToArray();
        }
        else if (_error)
        {
            var error = TranslateError(Encoding.UTF8.GetString(_whole.WrittenSpan));
            if (_callerResponse is { HasStarted: false } response)
            {
                response.StatusCode = error.Status;
            }

            bytes = JsonSerializer.SerializeToUtf8Bytes(error.Body);
        }
        else
        {
            bytes = JsonSerializer.SerializeToUtf8Bytes(TranslateAnswer());
        }

        await caller.WriteAsync(bytes, cancellationToken);
    }

    private TranslatedError TranslateError(string? body) => CallerIsAnthropic
        ? ErrorTranslation.OpenAIToAnthropic(_upstreamStatus, body)
        : ErrorTranslation.AnthropicToOpenAI(_upstreamStatus, body);

    private JsonObject TranslateAnswer()
    {
        if (JsonNode.Parse(_whole.WrittenSpan) is not JsonObject answer)
        {
            throw new JsonException("The upstream's answer is not a JSON object.");
        }

        return operation == RelayOperation.ChatCompletions ? MessagesToChatCompletionResponse.Translate(answer, created, callerModel)
            : operation == RelayOperation.Responses ? MessagesToResponsesResponse.Translate(answer, callerBody, created, callerModel)
            : ChatCompletionToMessagesResponse.Translate(answer, callerModel);
    }
}
