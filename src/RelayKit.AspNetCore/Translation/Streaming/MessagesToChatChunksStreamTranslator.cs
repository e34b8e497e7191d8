using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Translation.Errors;

namespace RelayKit.AspNetCore.Translation.Streaming;

/// <summary>
/// Anthropic Messages events as OpenAI <c>chat.completion.chunk</c> frames: a role chunk, content and
/// tool-call deltas (id and name first, then argument fragments), a finish chunk, a usage chunk when
/// the caller asked for <c>stream_options.include_usage</c>, then <c>[DONE]</c>.
/// </summary>
/// <param name="includeUsage">Whether the caller asked for the usage chunk.</param>
/// <param name="created">The chunks' <c>created</c> time (the relay passes its clock's now).</param>
/// <param name="model">The model name to report; the upstream's when <see langword="null"/>.</param>
internal sealed class MessagesToChatChunksStreamTranslator(bool includeUsage, DateTimeOffset created, string? model = null) : IStreamTranslator
{
    private readonly AnthropicUsageTracker _usage = new();
    private readonly Dictionary<long, int> _toolIndexByBlock = [];
    private string _id = "";
    private string? _model = model;
    private bool _ended;

    public TokenUsage? Usage => _usage.Usage;

    public bool IsComplete { get; private set; }

    public void Push(string? eventName, string data, ISseSink output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_ended)
        {
            return;
        }

        var payload = JsonNode.Parse(data) as JsonObject ?? throw new TranslationException("event", "is not a JSON object");
        switch (JsonRead.String(payload["type"], "type") ?? eventName)
        {
            case "message_start":
                var message = JsonRead.RequireObject(payload["message"], "message");
                _id = JsonRead.String(message["id"], "message.id") ?? "";
                _model ??= JsonRead.String(message["model"], "message.model");
                _usage.Update(JsonRead.Object(message["usage"], "message.usage"));
                output.Write(null, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }).ToJsonString());
                break;
            case "content_block_start":
                var index = JsonRead.Integer(payload["index"], "index") ?? 0;
                var block = JsonRead.RequireObject(payload["content_block"], "content_block");
                switch (JsonRead.String(block["type"], "content_block.type"))
                {
                    case "text":
                        if (JsonRead.String(block["text"], "content_block.text") is { Length: > 0 } text)
                        {
                            output.Write(null, Chunk(new JsonObject { ["content"] = text }).ToJsonString());
                        }

                        break;
                    case "tool_use":
                        var toolIndex = _toolIndexByBlock.Count;
                        _toolIndexByBlock[index] = toolIndex;
                        output.Write(null, Chunk(new JsonObject
                        {
                            ["tool_calls"] = new JsonArray(new JsonObject
                            {
                                ["index"] = toolIndex,
                                ["id"] = JsonRead.String(block["id"], "content_block.id"),
                                ["type"] = "function",
                                ["function"] = new JsonObject { ["name"] = JsonRead.String(block["name"], "content_block.name"), ["arguments"] = "" },
                            }),
                        }).ToJsonString());
                        break;
                    case "thinking" or "redacted_thinking":
                        // Chat Completions has no place for reasoning text; its tokens stay counted in usage.
                        break;
                    case var other:
                        Fail(output, $"The upstream answered with a '{other}' block, which Chat Completions cannot carry.");
                        break;
                }

                break;
            case "content_block_delta":
                var delta = JsonRead.RequireObject(payload["delta"], "delta");
                switch (JsonRead.String(delta["type"], "delta.type"))
                {
                    case "text_delta":
                        output.Write(null, Chunk(new JsonObject { ["content"] = JsonRead.String(delta["text"], "delta.text") }).ToJsonString());
                        break;
                    case "input_json_delta":
                        var fragment = JsonRead.String(delta["partial_json"], "delta.partial_json");
                        if (!string.IsNullOrEmpty(fragment) && _toolIndexByBlock.TryGetValue(JsonRead.Integer(payload["index"], "index") ?? 0, out var callIndex))
                        {
                            output.Write(null, Chunk(new JsonObject
                            {
                                ["tool_calls"] = new JsonArray(new JsonObject
                                {
                                    ["index"] = callIndex,
                                    ["function"] = new JsonObject { ["arguments"] = fragment },
                                }),
                            }).ToJsonString());
                        }

                        break;
                }

                // thinking_delta, signature_delta and citations_delta have no Chat Completions field.
                break;
            case "message_delta":
                _usage.Update(JsonRead.Object(payload["usage"], "usage"));
                var stopReason = JsonRead.String(payload["delta"]?["stop_reason"], "delta.stop_reason");
                output.Write(null, Chunk(new JsonObject(), StopReasons.ToFinishReason(stopReason)).ToJsonString());
                break;
            case "message_stop":
                if (includeUsage && Usage is { } usage)
                {
                    var chunk = Envelope();
                    chunk["choices"] = new JsonArray();
                    chunk["usage"] = UsageMapping.ToOpenAIChat(usage);
                    output.Write(null, chunk.ToJsonString());
                }

                output.Write(null, "[DONE]");
                IsComplete = true;
                _ended = true;
                break;
            case "error":
                output.Write(null, ErrorTranslation.AnthropicStreamErrorToOpenAI(data).ToJsonString());
                _ended = true;
                break;
        }

        // ping and unknown future event types carry nothing the caller needs.
    }

    public void Complete(ISseSink output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!_ended)
        {
            Fail(output, "The upstream stream ended before the answer was complete.");
        }
    }

    private void Fail(ISseSink output, string message)
    {
        output.Write(null, ErrorTranslation.OpenAIBody(message, "server_error", null, null).ToJsonString());
        _ended = true;
    }

    private JsonObject Envelope() => new()
    {
        ["id"] = _id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created.ToUnixTimeSeconds(),
        ["model"] = _model,
    };

    private JsonObject Chunk(JsonObject delta, string? finishReason = null)
    {
        var chunk = Envelope();
        chunk["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["delta"] = delta,
            ["logprobs"] = null,
            ["finish_reason"] = finishReason,
        });
        return chunk;
    }
}
