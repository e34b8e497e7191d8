using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Responses;

/// <summary>An Anthropic <c>message</c> as an OpenAI Responses <c>response</c> object.</summary>
internal static class MessagesToResponsesResponse
{
    /// <param name="message">The Anthropic answer.</param>
    /// <param name="request">The caller's Responses request, whose settings a <c>response</c> echoes.</param>
    /// <param name="created">When the answer was made (the relay passes its clock's now).</param>
    /// <param name="model">The model name to report; the upstream's when <see langword="null"/>.</param>
    public static JsonObject Translate(JsonObject message, JsonObject? request, DateTimeOffset created, string? model = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var id = JsonRead.RequireString(message["id"], "id");
        var stopReason = JsonRead.String(message["stop_reason"], "stop_reason");
        var output = new JsonArray();
        var parts = new JsonArray();
        var content = JsonRead.Array(message["content"], "content") ?? [];
        var messageIndex = -1;
        for (var i = 0; i < content.Count; i++)
        {
            var path = $"content[{i}]";
            var block = JsonRead.RequireObject(content[i], path);
            var type = JsonRead.RequireString(block["type"], JsonRead.Path(path, "type"));
            switch (type)
            {
                case "text":
                    if (messageIndex < 0)
                    {
                        // One message item gathers every text block, in the place the first text appeared.
                        messageIndex = output.Count;
                        output.Add(null);
                    }

                    parts.Add(ResponsesShapes.TextPart(JsonRead.RequireString(block["text"], JsonRead.Path(path, "text"))));
                    break;
                case "tool_use":
                    output.Add(ResponsesShapes.FunctionCallItem(
                        JsonRead.RequireString(block["id"], JsonRead.Path(path, "id")),
                        JsonRead.RequireString(block["name"], JsonRead.Path(path, "name")),
                        (block["input"] ?? new JsonObject()).ToJsonString(),
                        "completed"));
                    break;
                case "thinking" or "redacted_thinking":
                    // Anthropic's signed reasoning cannot become an OpenAI reasoning item; its tokens stay counted in usage.
                    break;
                default:
                    throw new TranslationException(JsonRead.Path(path, "type"), $"'{type}' blocks cannot be translated to the Responses API");
            }
        }

        if (messageIndex >= 0)
        {
            output[messageIndex] = ResponsesShapes.MessageItem(id, parts, "completed");
        }

        var response = ResponsesShapes.Response(id, request, created, model ?? JsonRead.String(message["model"], "model"));
        var incomplete = StopReasons.ToIncompleteReason(stopReason);
        response["status"] = incomplete is null ? "completed" : "incomplete";
        response["incomplete_details"] = incomplete is null ? null : new JsonObject { ["reason"] = incomplete };
        response["output"] = output;
        if (JsonRead.Object(message["usage"], "usage") is { } usage)
        {
            response["usage"] = UsageMapping.ToResponses(UsageMapping.FromAnthropic(usage));
        }

        return response;
    }
}
