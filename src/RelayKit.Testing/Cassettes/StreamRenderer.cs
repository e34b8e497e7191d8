using System.Text.Json.Nodes;
using RelayKit.Testing.Protocols;
using RelayKit.Testing.Protocols.OpenAI;
using RelayKit.Testing.Streaming;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// Streams a recorded whole-response body, so a non-streamed recording can answer a streamed request. OpenAI
/// bodies become a <see cref="FakeReply"/> that the fake's own renderers stream, with the recorded id, model and
/// usage written back into the events; Anthropic messages are written out block by block (<see cref="MessageEvents"/>).
/// </summary>
internal static class StreamRenderer
{
    public static IReadOnlyList<RecordedEvent>? Render(FakeRequest request, JsonObject body)
    {
        if (request.Endpoint == FakeEndpoint.AnthropicMessages)
        {
            return MessageEvents(body);
        }

        IAnswerRenderer renderer;
        IReadOnlyList<FakeReply> replies;
        string id;
        long created;
        switch (request.Endpoint)
        {
            case FakeEndpoint.OpenAIChatCompletions:
                renderer = new OpenAIChatRenderer();
                replies = ChatReplies(body);
                id = CassetteJson.String(body["id"]) ?? "chatcmpl-cassette";
                created = (long)CassetteJson.Double(body["created"]);
                break;
            case FakeEndpoint.OpenAIResponses:
                renderer = new OpenAIResponsesRenderer();
                replies = [ResponsesReply(body)];
                id = CassetteJson.String(body["id"]) ?? "resp_cassette";
                created = (long)CassetteJson.Double(body["created_at"]);
                break;
            default:
                return null;
        }

        var callIds = 0;
        var answer = new Answer(request, replies, null, id, created, () => $"call_cassette_{++callIds}");
        var events = renderer.RenderStream(answer).ToList();
        if (renderer.Terminator is { } terminator)
        {
            events.Add(terminator);
        }

        return [.. events.Select(e => ToRecorded(e, request.Endpoint, body))];
    }

    private static RecordedEvent ToRecorded(SseEvent sseEvent, FakeEndpoint endpoint, JsonObject body)
    {
        var data = CassetteJson.TryParseStructured(sseEvent.Data);
        if (data is JsonObject o)
        {
            Restore(o, endpoint, body);
        }

        return new RecordedEvent(0, sseEvent.Name, null, data, data is null ? sseEvent.Data : null);
    }

    /// <summary>Puts the recorded model and usage back where the renderer wrote its own.</summary>
    private static void Restore(JsonObject data, FakeEndpoint endpoint, JsonObject body)
    {
        switch (endpoint)
        {
            case FakeEndpoint.OpenAIChatCompletions:
                data["model"] = body["model"]?.DeepClone();
                if (data["usage"] is JsonObject && body["usage"] is JsonObject usage)
                {
                    data["usage"] = usage.DeepClone();
                }

                break;
            case FakeEndpoint.OpenAIResponses when data["response"] is JsonObject response:
                data["response"] = CassetteJson.String(data["type"]) is "response.completed" or "response.incomplete"
                    ? body.DeepClone()
                    : WithModel(response, body);
                break;
        }
    }

    private static JsonObject WithModel(JsonObject response, JsonObject body)
    {
        response["model"] = body["model"]?.DeepClone();
        return response;
    }

    /// <summary>Every recorded choice (a request with <c>n</c> has several), with its log probabilities when it has them.</summary>
    private static List<FakeReply> ChatReplies(JsonObject body)
    {
        var replies = (body["choices"] as JsonArray ?? []).OfType<JsonObject>()
            .OrderBy(c => CassetteJson.Int(c["index"]) ?? 0)
            .Select(ChatReply)
            .ToList();
        if (replies.Count == 0)
        {
            replies.Add(ChatReply(new JsonObject()));
        }

        // Usage is the whole answer's; the renderer's own count is replaced by the recorded one (Restore).
        replies[0] = replies[0] with { ReasoningTokens = CassetteJson.Int(body["usage"]?["completion_tokens_details"]?["reasoning_tokens"]) ?? 0 };
        return replies;
    }

    private static FakeReply ChatReply(JsonObject choice)
    {
        var message = choice["message"] as JsonObject;
        var calls = (message?["tool_calls"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(c => new FakeToolCall(
                CassetteJson.String(c["function"]?["name"]) ?? "",
                CassetteJson.String(c["function"]?["arguments"]) ?? "{}",
                CassetteJson.String(c["id"])))
            .ToList();
        return new FakeReply
        {
            Text = CassetteJson.String(message?["content"]),
            ToolCalls = calls,
            FinishReason = CassetteJson.String(choice["finish_reason"]) switch
            {
                "length" => FakeFinishReason.Length,
                "tool_calls" => FakeFinishReason.ToolCalls,
                "content_filter" => FakeFinishReason.ContentFilter,
                "function_call" => FakeFinishReason.FunctionCall,
                _ => FakeFinishReason.Stop,
            },
            Logprobs = choice["logprobs"]?["content"]?.DeepClone() as JsonArray,
        };
    }

    /// <summary>
    /// A recorded Anthropic message as the events Anthropic streams it in: every content block in its recorded order
    /// and whole (thinking with its signature, text, tool use with its input, any other block as it is), then the
    /// recorded stop reason and usage. Written out directly rather than through the fake's renderer, whose reply
    /// has one text and a list of tool calls and so would lose thinking blocks and the blocks' order.
    /// </summary>
    private static List<RecordedEvent> MessageEvents(JsonObject body)
    {
        var events = new List<RecordedEvent>();
        void Add(string name, JsonObject data) => events.Add(new RecordedEvent(0, name, null, data, null));

        var start = new JsonObject
        {
            ["id"] = body["id"]?.DeepClone() ?? "msg_cassette",
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = body["model"]?.DeepClone(),
            ["content"] = new JsonArray(),
            ["container"] = body["container"]?.DeepClone(),
            ["stop_reason"] = null,
            ["stop_sequence"] = null,
            ["stop_details"] = null,
            ["diagnostics"] = body["diagnostics"]?.DeepClone(),
        };
        if (body["usage"] is JsonObject usage)
        {
            var startUsage = (JsonObject)usage.DeepClone();
            startUsage["output_tokens"] = 1;
            start["usage"] = startUsage;
        }

        Add("message_start", new JsonObject { ["type"] = "message_start", ["message"] = start });
        var blocks = (body["content"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        for (var index = 0; index < blocks.Count; index++)
        {
            var block = blocks[index];
            var (opening, deltas) = CassetteJson.String(block["type"]) switch
            {
                "text" => (new JsonObject { ["type"] = "text", ["text"] = "", ["citations"] = null },
                    Deltas(("text_delta", "text", block["text"]))),
                "thinking" => (new JsonObject { ["type"] = "thinking", ["thinking"] = "", ["signature"] = "" },
                    Deltas(("thinking_delta", "thinking", block["thinking"]), ("signature_delta", "signature", block["signature"]))),
                "tool_use" => (new JsonObject { ["type"] = "tool_use", ["id"] = block["id"]?.DeepClone(), ["name"] = block["name"]?.DeepClone(), ["input"] = new JsonObject() },
                    Deltas(("input_json_delta", "partial_json", (block["input"] ?? new JsonObject()).ToJsonString(CassetteJson.Compact)))),
                _ => ((JsonObject)block.DeepClone(), []),
            };
            Add("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = opening });
            foreach (var delta in deltas)
            {
                Add("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = delta });
            }

            Add("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index });
        }

        var end = new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject
            {
                ["stop_reason"] = body["stop_reason"]?.DeepClone(),
                ["stop_sequence"] = body["stop_sequence"]?.DeepClone(),
                ["stop_details"] = body["stop_details"]?.DeepClone(),
                ["container"] = body["container"]?.DeepClone(),
            },
        };
        if (body["usage"] is JsonObject finalUsage)
        {
            end["usage"] = finalUsage.DeepClone();
        }

        Add("message_delta", end);
        Add("message_stop", new JsonObject { ["type"] = "message_stop" });
        return events;
    }

    /// <summary>The deltas of one block: each given value that is there, as a delta of its type.</summary>
    private static List<JsonObject> Deltas(params (string Type, string Field, JsonNode? Value)[] parts) =>
        [.. parts.Where(p => p.Value is not null).Select(p => new JsonObject { ["type"] = p.Type, [p.Field] = p.Value!.DeepClone() })];

    private static FakeReply ResponsesReply(JsonObject body)
    {
        var items = (body["output"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var parts = items.Where(i => CassetteJson.String(i["type"]) == "message")
            .SelectMany(i => (i["content"] as JsonArray ?? []).OfType<JsonObject>())
            .Where(p => CassetteJson.String(p["type"]) == "output_text")
            .ToList();
        var text = string.Concat(parts.Select(p => CassetteJson.String(p["text"])));
        var logprobs = parts.SelectMany(p => p["logprobs"] as JsonArray ?? []).Select(l => l?.DeepClone()).ToList();
        var calls = items.Where(i => CassetteJson.String(i["type"]) == "function_call")
            .Select(i => new FakeToolCall(
                CassetteJson.String(i["name"]) ?? "",
                CassetteJson.String(i["arguments"]) ?? "{}",
                CassetteJson.String(i["call_id"])))
            .ToList();
        return new FakeReply
        {
            Text = text,
            ToolCalls = calls,
            FinishReason = CassetteJson.String(body["status"]) == "incomplete" ? FakeFinishReason.Length
                : calls.Count > 0 ? FakeFinishReason.ToolCalls : FakeFinishReason.Stop,
            Logprobs = logprobs.Count > 0 ? new JsonArray([.. logprobs]) : null,
        };
    }
}
