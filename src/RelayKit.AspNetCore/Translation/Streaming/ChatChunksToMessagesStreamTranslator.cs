using System.Text;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Translation.Errors;

namespace RelayKit.AspNetCore.Translation.Streaming;

/// <summary>
/// OpenAI <c>chat.completion.chunk</c> frames as Anthropic Messages events in Anthropic's order:
/// <c>message_start</c>, then per block <c>content_block_start</c> (a <c>ping</c> after the first),
/// <c>text_delta</c> / <c>input_json_delta</c> deltas and <c>content_block_stop</c>, then
/// <c>message_delta</c> with the stop reason and usage, and <c>message_stop</c>.
/// </summary>
/// <remarks>
/// OpenAI reports usage only in its last chunk, so <c>message_start</c> says zero input tokens and
/// <c>message_delta</c> carries the real input, cache and output counts (its usage fields allow them).
/// The finish chunk is held until that usage chunk or <c>[DONE]</c> arrives.
/// </remarks>
/// <param name="model">The model name to report; the upstream's when <see langword="null"/>.</param>
internal sealed class ChatChunksToMessagesStreamTranslator(string? model = null) : IStreamTranslator
{
    private readonly Dictionary<long, int> _blockByToolIndex = [];
    private string? _model = model;
    private bool _started;
    private bool _pinged;
    private bool _ended;
    private int _nextBlock;
    private int? _openBlock;
    private bool _openBlockIsText;
    private string? _finishReason;
    private bool _refused;

    /// <summary>
    /// Where the usage told to the caller comes from: in the relay, the request's meter (<see cref="Metering.UsageMeter.Usage"/>),
    /// which reads each event before the translator does, so the caller is told the usage it is charged for, read by one
    /// reader with one set of rules (an absurd count is no usage). Null: the translator follows the upstream's usage itself.
    /// </summary>
    public Func<TokenUsage?>? UsageSource { get; init; }

    public TokenUsage? Usage => UsageSource is { } source ? source() : _ownUsage;

    private TokenUsage? _ownUsage;

    public bool IsComplete { get; private set; }

    public void Push(ref ResponseEvent item, ISseSink output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_ended)
        {
            return;
        }

        if (item.Data.Span.Trim(" \t\r\n"u8).SequenceEqual("[DONE]"u8))
        {
            Finish(output);
            return;
        }

        // A view over the chain's parse, not a second parse: fields are read lazily from the same document.
        var chunk = item.TryGetObject(out var root) ? JsonObject.Create(root)! : throw new TranslationException("chunk", "is not a JSON object");
        if (chunk["error"] is not null)
        {
            output.Write("error", ErrorTranslation.OpenAIStreamErrorToAnthropic(Encoding.UTF8.GetString(item.Data.Span)).ToJsonString());
            _ended = true;
            return;
        }

        if (!_started)
        {
            _started = true;
            _model ??= JsonRead.String(chunk["model"], "model");
            Write(output, "message_start", new JsonObject
            {
                ["message"] = new JsonObject
                {
                    ["id"] = JsonRead.String(chunk["id"], "id"),
                    ["type"] = "message",
                    ["role"] = "assistant",
                    ["model"] = _model,
                    ["content"] = new JsonArray(),
                    ["stop_reason"] = null,
                    ["stop_sequence"] = null,
                    ["usage"] = new JsonObject { ["input_tokens"] = 0, ["output_tokens"] = 0 },
                },
            });
        }

        if (JsonRead.Object(chunk["usage"], "usage") is { } usage)
        {
            _ownUsage = UsageMapping.FromOpenAIChat(usage);
        }

        var choices = JsonRead.Array(chunk["choices"], "choices") ?? [];
        foreach (var choice in choices.OfType<JsonObject>())
        {
            if (JsonRead.Integer(choice["index"], "choices[].index") is > 0)
            {
                // The translated request never asks for n > 1; a second choice cannot exist in one Anthropic message.
                continue;
            }

            if (JsonRead.Object(choice["delta"], "choices[0].delta") is { } delta)
            {
                Delta(delta, output);
            }

            if (JsonRead.String(choice["finish_reason"], "choices[0].finish_reason") is { } finish)
            {
                CloseBlock(output);
                _finishReason = finish;
            }
        }
    }

    public void Complete(ISseSink output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_ended)
        {
            return;
        }

        if (_finishReason is not null)
        {
            // Some OpenAI-compatible servers end the stream without [DONE]; the finish chunk already said it all.
            Finish(output);
            return;
        }

        Write(output, "error", ErrorTranslation.AnthropicBody("api_error", "The upstream stream ended before the answer was complete."));
        _ended = true;
    }

    private void Delta(JsonObject delta, ISseSink output)
    {
        if (JsonRead.String(delta["content"], "choices[0].delta.content") is { Length: > 0 } text)
        {
            Text(text, output);
        }

        if (JsonRead.String(delta["refusal"], "choices[0].delta.refusal") is { Length: > 0 } refusal)
        {
            _refused = true;
            Text(refusal, output);
        }

        var calls = JsonRead.Array(delta["tool_calls"], "choices[0].delta.tool_calls") ?? [];
        foreach (var call in calls.OfType<JsonObject>())
        {
            var toolIndex = JsonRead.Integer(call["index"], "choices[0].delta.tool_calls[].index") ?? 0;
            var function = JsonRead.Object(call["function"], "choices[0].delta.tool_calls[].function");
            if (!_blockByToolIndex.TryGetValue(toolIndex, out var block))
            {
                CloseBlock(output);
                block = OpenBlock(output, new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = JsonRead.String(call["id"], "choices[0].delta.tool_calls[].id"),
                    ["name"] = JsonRead.String(function?["name"], "choices[0].delta.tool_calls[].function.name"),
                    ["input"] = new JsonObject(),
                    ["caller"] = new JsonObject { ["type"] = "direct" },
                });
                _blockByToolIndex[toolIndex] = block;
            }

            if (JsonRead.String(function?["arguments"], "choices[0].delta.tool_calls[].function.arguments") is { Length: > 0 } fragment)
            {
                // OpenAI streams one call's arguments after another; a fragment for an earlier call still
                // goes to that call's block, which Anthropic clients accumulate by index.
                Write(output, "content_block_delta", new JsonObject
                {
                    ["index"] = block,
                    ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = fragment },
                });
            }
        }
    }

    private void Text(string text, ISseSink output)
    {
        if (_openBlock is null || !_openBlockIsText)
        {
            CloseBlock(output);
            OpenBlock(output, new JsonObject { ["type"] = "text", ["text"] = "" });
            _openBlockIsText = true;
        }

        Write(output, "content_block_delta", new JsonObject
        {
            ["index"] = _openBlock,
            ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = text },
        });
    }

    private int OpenBlock(ISseSink output, JsonObject block)
    {
        var index = _nextBlock++;
        Write(output, "content_block_start", new JsonObject { ["index"] = index, ["content_block"] = block });
        if (!_pinged)
        {
            _pinged = true;
            Write(output, "ping", []);
        }

        _openBlock = index;
        _openBlockIsText = false;
        return index;
    }

    private void CloseBlock(ISseSink output)
    {
        if (_openBlock is { } index)
        {
            Write(output, "content_block_stop", new JsonObject { ["index"] = index });
            _openBlock = null;
        }
    }

    private void Finish(ISseSink output)
    {
        if (!_started)
        {
            Write(output, "error", ErrorTranslation.AnthropicBody("api_error", "The upstream stream ended without an answer."));
            _ended = true;
            return;
        }

        CloseBlock(output);
        var usage = Usage is { } real ? UsageMapping.ToAnthropic(real) : new JsonObject { ["output_tokens"] = 0 };
        var stopReason = _refused && _finishReason == "stop" ? "refusal" : StopReasons.ToStopReason(_finishReason);
        Write(output, "message_delta", new JsonObject
        {
            ["delta"] = new JsonObject { ["stop_reason"] = stopReason, ["stop_sequence"] = null },
            ["usage"] = usage,
        });
        Write(output, "message_stop", []);
        IsComplete = _finishReason is not null;
        _ended = true;
    }

    private static void Write(ISseSink output, string type, JsonObject payload)
    {
        var data = new JsonObject { ["type"] = type };
        foreach (var (name, value) in payload.ToList())
        {
            payload.Remove(name);
            data[name] = value;
        }

        output.Write(type, data.ToJsonString());
    }
}
