using System.Text.Json.Nodes;
using RelayKit.Testing.Generation;
using RelayKit.Testing.Protocols;

namespace RelayKit.Testing.State;

/// <summary>
/// The conversation a Responses request continues: with <c>previous_response_id</c>, the real API answers as
/// if the input were the previous response's input, then its output, then the new input. The fake builds
/// that input, so the prompt it counts and the text a script rule sees hold the earlier turns too.
/// </summary>
internal static class ResponsesConversation
{
    /// <summary>
    /// The whole input of a Responses request, earlier turns first; <see langword="null"/> when the request does
    /// not continue a stored response (its own <c>input</c> is then all there is).
    /// </summary>
    /// <exception cref="BadRequestException">The previous response is not stored (never was, deleted, or forgotten).</exception>
    public static JsonArray? Resolve(JsonObject body, AnswerStore store)
    {
        if (body["previous_response_id"] is not { } node || (node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Null))
        {
            return null;
        }

        var previousId = JsonText.String(node)
            ?? throw new BadRequestException(400, "Invalid type for 'previous_response_id': expected a string.", "previous_response_id");
        if (body["input"] is not (JsonArray or JsonValue))
        {
            return null; // the reader reports the missing or malformed input
        }

        var previous = store.Find(FakeEndpoint.OpenAIResponses, previousId)
            ?? throw new BadRequestException(400, $"Previous response with id '{previousId}' not found.", "previous_response_id", code: "previous_response_not_found");
        var conversation = store.Locked(() => (JsonArray)previous.Conversation!.DeepClone());
        foreach (var item in Items(body["input"]).Select(i => i?.DeepClone()))
        {
            conversation.Add(item);
        }

        return conversation;
    }

    /// <summary>A request's input as items: a string input is one user message.</summary>
    public static JsonArray Items(JsonNode? input) => input switch
    {
        JsonArray items => (JsonArray)items.DeepClone(),
        JsonValue value when JsonText.String(value) is { } text => [new JsonObject { ["type"] = "message", ["role"] = "user", ["content"] = text }],
        _ => [],
    };

    /// <summary>
    /// The items as <c>GET /v1/responses/{id}/input_items</c> lists them: each with an id, and a message's text
    /// content as typed parts (<c>input_text</c>, or <c>output_text</c> for an assistant's).
    /// </summary>
    public static JsonArray Listed(JsonArray items, IdSource ids)
    {
        var listed = new JsonArray();
        foreach (var item in items.OfType<JsonObject>())
        {
            var copy = (JsonObject)item.DeepClone();
            var type = JsonText.String(copy["type"]) ?? (copy["role"] is not null ? "message" : "item");
            if (type == "message")
            {
                copy["type"] = "message";
                if (JsonText.String(copy["content"]) is { } text)
                {
                    var partType = JsonText.String(copy["role"]) == "assistant" ? "output_text" : "input_text";
                    copy["content"] = new JsonArray(new JsonObject { ["type"] = partType, ["text"] = text });
                }
            }

            if (type != "item_reference" && JsonText.String(copy["id"]) is null)
            {
                var prefix = type switch
                {
                    "message" => "msg_",
                    "function_call" => "fc_",
                    "function_call_output" => "fco_",
                    _ => "item_",
                };

                // The id goes first, where the API puts it.
                var withId = new JsonObject { ["id"] = ids.Next(prefix, 32) };
                foreach (var (name, value) in copy.ToList())
                {
                    copy.Remove(name);
                    withId[name] = value;
                }

                copy = withId;
            }

            listed.Add(copy);
        }

        return listed;
    }
}
