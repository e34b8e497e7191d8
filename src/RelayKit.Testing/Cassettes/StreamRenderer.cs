using System.Text.Json.Nodes;
using RelayKit.Testing.Protocols;
using RelayKit.Testing.Protocols.Anthropic;
using RelayKit.Testing.Protocols.OpenAI;
using RelayKit.Testing.Streaming;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// Streams a recorded whole-response body, so a non-streamed recording can answer a streamed request:
/// the body becomes a <see cref="FakeReply"/> that the fake's own renderers stream, and the recorded
/// id, model and usage are written back into the events.
/// </summary>
internal static class StreamRenderer
{
    public static IReadOnlyList<RecordedEvent>? Render(FakeRequest request, JsonObject body)
    {
        IAnswerRenderer renderer;
        FakeReply reply;
        string id;
        long created;
        switch (request.Endpoint)
        {
            case FakeEndpoint.OpenAIChatCompletions:
                renderer = new OpenAIChatRenderer();
                reply = ChatReply(body);
                id = CassetteJson.String(body["id"]) ?? "chatcmpl-cassette";
                created = (long)CassetteJson.Double(body["created"]);
                break;
            case FakeEndpoint.AnthropicMessages:
                renderer = new AnthropicMessagesRenderer();
                reply = MessageReply(body);
                id = CassetteJson.String(body["id"]) ?? "msg_cassette";
                created = 0;
                break;
            case FakeEndpoint.OpenAIResponses:
                renderer = new OpenAIResponsesRenderer();
                reply = ResponsesReply(body);
                id = CassetteJson.String(body["id"]) ?? "resp_cassette";
                created = (long)CassetteJson.Double(body["created_at"]);
                break;
            default:
                return null;
        }

        var callIds = 0;
        var answer = new Answer(request, reply, null, id, created, () => $"call_cassette_{++callIds}");
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
            case FakeEndpoint.AnthropicMessages:
                if (data["message"] is JsonObject message)
                {
                    message["model"] = body["model"]?.DeepClone();
                    if (body["usage"] is JsonObject startUsage && message["usage"] is JsonObject)
                    {
                        var copy = (JsonObject)startUsage.DeepClone();
                        copy["output_tokens"] = 1;
                        message["usage"] = copy;
                    }
                }

                if (CassetteJson.String(data["type"]) == "message_delta")
                {
                    if (body["usage"] is JsonObject finalUsage)
                    {
                        data["usage"] = finalUsage.DeepClone();
                    }

                    if (data["delta"] is JsonObject delta)
                    {
                        delta["stop_reason"] = body["stop_reason"]?.DeepClone();
                        delta["stop_sequence"] = body["stop_sequence"]?.DeepClone();
                    }
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

    private static FakeReply ChatReply(JsonObject body)
    {
        var message = body["choices"]?[0]?["message"] as JsonObject;
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
            FinishReason = CassetteJson.String(body["choices"]?[0]?["finish_reason"]) switch
            {
                "length" => FakeFinishReason.Length,
                "tool_calls" => FakeFinishReason.ToolCalls,
                "content_filter" => FakeFinishReason.ContentFilter,
                "function_call" => FakeFinishReason.FunctionCall,
                _ => FakeFinishReason.Stop,
            },
            ReasoningTokens = CassetteJson.Int(body["usage"]?["completion_tokens_details"]?["reasoning_tokens"]) ?? 0,
        };
    }

    private static FakeReply MessageReply(JsonObject body)
    {
        var blocks = (body["content"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var text = string.Concat(blocks.Where(b => CassetteJson.String(b["type"]) == "text").Select(b => CassetteJson.String(b["text"])));
        var calls = blocks.Where(b => CassetteJson.String(b["type"]) == "tool_use")
            .Select(b => new FakeToolCall(
                CassetteJson.String(b["name"]) ?? "",
                b["input"]?.ToJsonString(CassetteJson.Compact) ?? "{}",
                CassetteJson.String(b["id"])))
            .ToList();
        return new FakeReply
        {
            Text = text,
            ToolCalls = calls,
            FinishReason = CassetteJson.String(body["stop_reason"]) switch
            {
                "max_tokens" => FakeFinishReason.Length,
                "tool_use" => FakeFinishReason.ToolCalls,
                "refusal" => FakeFinishReason.ContentFilter,
                "stop_sequence" => FakeFinishReason.StopSequence,
                "pause_turn" => FakeFinishReason.PauseTurn,
                _ => FakeFinishReason.Stop,
            },
        };
    }

    private static FakeReply ResponsesReply(JsonObject body)
    {
        var items = (body["output"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var text = string.Concat(items.Where(i => CassetteJson.String(i["type"]) == "message")
            .SelectMany(i => (i["content"] as JsonArray ?? []).OfType<JsonObject>())
            .Where(p => CassetteJson.String(p["type"]) == "output_text")
            .Select(p => CassetteJson.String(p["text"])));
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
        };
    }
}
