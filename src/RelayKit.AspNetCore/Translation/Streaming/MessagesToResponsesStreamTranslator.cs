using System.Text;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Translation.Errors;
using RelayKit.AspNetCore.Translation.Responses;

namespace RelayKit.AspNetCore.Translation.Streaming;

/// <summary>
/// Anthropic Messages events as OpenAI Responses typed events: <c>response.created</c>,
/// <c>response.in_progress</c>, per output item <c>response.output_item.added</c>, text parts
/// (<c>response.content_part.added</c>, <c>response.output_text.delta</c>/<c>.done</c>,
/// <c>response.content_part.done</c>) or function-call arguments
/// (<c>response.function_call_arguments.delta</c>/<c>.done</c>), <c>response.output_item.done</c>,
/// and finally <c>response.completed</c> or <c>response.incomplete</c> with the whole response.
/// </summary>
/// <remarks>
/// Consecutive Anthropic text blocks become the content parts of one message item, as the
/// whole-answer translation does. The finished items are kept for the final event, which the API
/// requires to hold the whole response; everything else is written as it arrives.
/// </remarks>
/// <param name="request">The caller's Responses request, whose settings a <c>response</c> echoes.</param>
/// <param name="created">The response's <c>created_at</c> (the relay passes its clock's now).</param>
/// <param name="model">The model name to report; the upstream's when <see langword="null"/>.</param>
internal sealed class MessagesToResponsesStreamTranslator(JsonObject? request, DateTimeOffset created, string? model = null) : MessagesStreamTranslator
{
    private readonly JsonArray _output = [];
    private readonly Dictionary<long, OpenBlock> _blocks = [];
    private JsonObject? _response;
    private string _messageId = "";
    private int _sequence;
    private string? _stopReason;
    private MessageItem? _message;
    private int _messageItems;

    protected override void OnMessageStart(JsonObject message, ISseSink output)
    {
        _messageId = JsonRead.String(message["id"], "message.id") ?? "msg_";
        _response = ResponsesShapes.Response(_messageId, request, created, model ?? JsonRead.String(message["model"], "message.model"));
        Write(output, "response.created", new JsonObject { ["response"] = _response.DeepClone() });
        Write(output, "response.in_progress", new JsonObject { ["response"] = _response.DeepClone() });
    }

    protected override void OnBlockStart(long index, JsonObject block, ISseSink output) => StartBlock(index, block, output);

    protected override void OnBlockDelta(long index, JsonObject delta, ISseSink output)
    {
        if (_blocks.TryGetValue(index, out var open))
        {
            Delta(open, delta, output);
        }
    }

    protected override void OnBlockStop(long index, ISseSink output)
    {
        if (_blocks.Remove(index, out var closed))
        {
            StopBlock(closed, output);
        }
    }

    protected override void OnMessageDelta(string? stopReason, ISseSink output) => _stopReason = stopReason ?? _stopReason;

    protected override void OnMessageStop(ISseSink output)
    {
        CloseMessageItem(output);
        var response = _response ?? ResponsesShapes.Response(_messageId, request, created, model);
        var incomplete = StopReasons.ToIncompleteReason(_stopReason);
        response["status"] = incomplete is null ? "completed" : "incomplete";
        response["incomplete_details"] = incomplete is null ? null : new JsonObject { ["reason"] = incomplete };
        response["output"] = _output.DeepClone();
        response["usage"] = Usage is { } usage ? UsageMapping.ToResponses(usage) : null;
        Write(output, incomplete is null ? "response.completed" : "response.incomplete", new JsonObject { ["response"] = response });
    }

    protected override void OnError(string data, ISseSink output)
    {
        var error = ErrorTranslation.AnthropicStreamErrorToOpenAI(data)["error"]!;
        WriteError(output, (string?)error["code"] ?? (string?)error["type"] ?? "server_error", (string?)error["message"] ?? "The upstream failed.");
    }

    protected override void WriteError(ISseSink output, string code, string message) =>
        Write(output, "error", new JsonObject { ["code"] = code, ["message"] = message, ["param"] = null });

    private void StartBlock(long index, JsonObject block, ISseSink output)
    {
        var type = JsonRead.String(block["type"], "content_block.type");
        switch (type)
        {
            case "text":
                if (_message is null)
                {
                    var itemId = _messageItems++ == 0 ? _messageId : $"{_messageId}_{_messageItems}";
                    _message = new MessageItem(itemId, _output.Count);
                    _output.Add(null);
                    Write(output, "response.output_item.added", new JsonObject
                    {
                        ["output_index"] = _message.OutputIndex,
                        ["item"] = ResponsesShapes.MessageItem(itemId, [], "in_progress"),
                    });
                }

                var part = new OpenBlock(OpenBlockKind.Text, _message.OutputIndex, _message.ItemId, _message.Parts.Count, null, null);
                _message.Parts.Add(null);
                _blocks[index] = part;
                Write(output, "response.content_part.added", new JsonObject
                {
                    ["item_id"] = part.ItemId,
                    ["output_index"] = part.OutputIndex,
                    ["content_index"] = part.ContentIndex,
                    ["part"] = ResponsesShapes.TextPart(""),
                });
                if (JsonRead.String(block["text"], "content_block.text") is { Length: > 0 } initial)
                {
                    Delta(part, new JsonObject { ["type"] = "text_delta", ["text"] = initial }, output);
                }

                break;
            case "tool_use":
                CloseMessageItem(output);
                var callId = JsonRead.String(block["id"], "content_block.id") ?? "";
                var name = JsonRead.String(block["name"], "content_block.name") ?? "";
                var call = new OpenBlock(OpenBlockKind.FunctionCall, _output.Count, ResponsesShapes.FunctionCallId(callId), 0, callId, name);
                _output.Add(null);
                _blocks[index] = call;
                Write(output, "response.output_item.added", new JsonObject
                {
                    ["output_index"] = call.OutputIndex,
                    ["item"] = ResponsesShapes.FunctionCallItem(callId, name, "", "in_progress"),
                });
                break;
            case "thinking" or "redacted_thinking":
                // Anthropic's signed reasoning cannot become an OpenAI reasoning item; its tokens stay counted in usage.
                break;
            default:
                Fail(output, "server_error", $"The upstream answered with a '{type}' block, which the Responses API cannot carry.");
                break;
        }
    }

    private void Delta(OpenBlock block, JsonObject delta, ISseSink output)
    {
        switch (JsonRead.String(delta["type"], "delta.type"))
        {
            case "text_delta" when block.Kind == OpenBlockKind.Text:
                var text = JsonRead.String(delta["text"], "delta.text") ?? "";
                block.Content.Append(text);
                Write(output, "response.output_text.delta", new JsonObject
                {
                    ["item_id"] = block.ItemId,
                    ["output_index"] = block.OutputIndex,
                    ["content_index"] = block.ContentIndex,
                    ["delta"] = text,
                    ["logprobs"] = new JsonArray(),
                });
                break;
            case "input_json_delta" when block.Kind == OpenBlockKind.FunctionCall:
                var fragment = JsonRead.String(delta["partial_json"], "delta.partial_json") ?? "";
                if (fragment.Length > 0)
                {
                    block.Content.Append(fragment);
                    Write(output, "response.function_call_arguments.delta", new JsonObject
                    {
                        ["item_id"] = block.ItemId,
                        ["output_index"] = block.OutputIndex,
                        ["delta"] = fragment,
                    });
                }

                break;
        }
    }

    private void StopBlock(OpenBlock block, ISseSink output)
    {
        var content = block.Content.ToString();
        if (block.Kind == OpenBlockKind.Text)
        {
            Write(output, "response.output_text.done", new JsonObject
            {
                ["item_id"] = block.ItemId,
                ["output_index"] = block.OutputIndex,
                ["content_index"] = block.ContentIndex,
                ["text"] = content,
                ["logprobs"] = new JsonArray(),
            });
            Write(output, "response.content_part.done", new JsonObject
            {
                ["item_id"] = block.ItemId,
                ["output_index"] = block.OutputIndex,
                ["content_index"] = block.ContentIndex,
                ["part"] = ResponsesShapes.TextPart(content),
            });
            _message?.Parts[block.ContentIndex] = ResponsesShapes.TextPart(content);
            return;
        }

        // Anthropic sends no fragments for a call without arguments; OpenAI's arguments are then "{}".
        var arguments = content.Length == 0 ? "{}" : content;
        Write(output, "response.function_call_arguments.done", new JsonObject
        {
            ["item_id"] = block.ItemId,
            ["output_index"] = block.OutputIndex,
            ["name"] = block.Name,
            ["arguments"] = arguments,
        });
        var item = ResponsesShapes.FunctionCallItem(block.CallId!, block.Name!, arguments, "completed");
        _output[block.OutputIndex] = item.DeepClone();
        Write(output, "response.output_item.done", new JsonObject { ["output_index"] = block.OutputIndex, ["item"] = item });
    }

    private void CloseMessageItem(ISseSink output)
    {
        if (_message is null)
        {
            return;
        }

        var parts = new JsonArray([.. _message.Parts.Select(p => p ?? ResponsesShapes.TextPart(""))]);
        var item = ResponsesShapes.MessageItem(_message.ItemId, parts, "completed");
        _output[_message.OutputIndex] = item.DeepClone();
        Write(output, "response.output_item.done", new JsonObject { ["output_index"] = _message.OutputIndex, ["item"] = item });
        _message = null;
    }

    private void Write(ISseSink output, string type, JsonObject payload)
    {
        var data = new JsonObject { ["type"] = type, ["sequence_number"] = _sequence++ };
        foreach (var (name, value) in payload.ToList())
        {
            payload.Remove(name);
            data[name] = value;
        }

        output.Write(type, data.ToJsonString());
    }

    private enum OpenBlockKind
    {
        Text,
        FunctionCall,
    }

    private sealed record OpenBlock(OpenBlockKind Kind, int OutputIndex, string ItemId, int ContentIndex, string? CallId, string? Name)
    {
        public StringBuilder Content { get; } = new();
    }

    private sealed record MessageItem(string ItemId, int OutputIndex)
    {
        public List<JsonObject?> Parts { get; } = [];
    }
}
