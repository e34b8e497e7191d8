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
internal sealed class MessagesToChatChunksStreamTranslator(bool includeUsage, DateTimeOffset created, string? model = null) : MessagesStreamTranslator
{
    private readonly Dictionary<long, int> _toolIndexByBlock = [];
    private string _id = "";
    private string? _model = model;

    protected override void OnMessageStart(JsonObject message, ISseSink output)
    {
        _id = JsonRead.String(message["id"], "message.id") ?? "";
        _model ??= JsonRead.String(message["model"], "message.model");
        output.Write(null, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }).ToJsonString());
    }

    protected override void OnBlockStart(long index, JsonObject block, ISseSink output)
    {
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
                Fail(output, "server_error", $"The upstream answered with a '{other}' block, which Chat Completions cannot carry.");
                break;
        }
    }

    protected override void OnBlockDelta(long index, JsonObject delta, ISseSink output)
    {
        switch (JsonRead.String(delta["type"], "delta.type"))
        {
            case "text_delta":
                output.Write(null, Chunk(new JsonObject { ["content"] = JsonRead.String(delta["text"], "delta.text") }).ToJsonString());
                break;
            case "input_json_delta":
                var fragment = JsonRead.String(delta["partial_json"], "delta.partial_json");
                if (!string.IsNullOrEmpty(fragment) && _toolIndexByBlock.TryGetValue(index, out var callIndex))
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
    }

    protected override void OnMessageDelta(string? stopReason, ISseSink output) =>
        output.Write(null, Chunk(new JsonObject(), StopReasons.ToFinishReason(stopReason)).ToJsonString());

    protected override void OnMessageStop(ISseSink output)
    {
        if (includeUsage && Usage is { } usage)
        {
            var chunk = Envelope();
            chunk["choices"] = new JsonArray();
            chunk["usage"] = UsageMapping.ToOpenAIChat(usage);
            output.Write(null, chunk.ToJsonString());
        }

        output.Write(null, "[DONE]");
    }

    protected override void OnError(string data, ISseSink output) =>
        output.Write(null, ErrorTranslation.AnthropicStreamErrorToOpenAI(data).ToJsonString());

    protected override void WriteError(ISseSink output, string code, string message) =>
        output.Write(null, ErrorTranslation.OpenAIBody(message, code, null, null).ToJsonString());

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
