using System.Text.Json.Nodes;
using RelayKit.Testing.Streaming;
using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Protocols.OpenAI;

/// <summary>Responses API answers: a <c>response</c> object, or its typed events with sequence numbers.</summary>
internal sealed class OpenAIResponsesRenderer : IAnswerRenderer
{
    public SseEvent? Terminator => null;

    public JsonObject RenderBody(Answer answer)
    {
        var response = Response(answer, completed: true);
        var output = (JsonArray)response["output"]!;
        if (!string.IsNullOrEmpty(answer.Reply.Text) || answer.ToolCalls.Count == 0)
        {
            output.Add(MessageItem(answer, answer.Reply.Text ?? "", "completed"));
        }

        for (var i = 0; i < answer.ToolCalls.Count; i++)
        {
            output.Add(FunctionCallItem(answer, i, answer.ToolCalls[i].ArgumentsJson, "completed"));
        }

        return response;
    }

    public IEnumerable<SseEvent> RenderStream(Answer answer)
    {
        var sequence = 0;
        SseEvent Event(string type, JsonObject payload)
        {
            var data = new JsonObject { ["type"] = type, ["sequence_number"] = sequence++ };
            foreach (var (name, value) in payload.ToList())
            {
                payload.Remove(name);
                data[name] = value;
            }

            return new SseEvent(type, WireJson.Write(data));
        }

        yield return Event("response.created", new JsonObject { ["response"] = Response(answer, completed: false) });
        yield return Event("response.in_progress", new JsonObject { ["response"] = Response(answer, completed: false) });

        var outputIndex = 0;
        var final = Response(answer, completed: true);
        var finalOutput = (JsonArray)final["output"]!;
        if (!string.IsNullOrEmpty(answer.Reply.Text) || answer.ToolCalls.Count == 0)
        {
            var text = answer.Reply.Text ?? "";
            var itemId = MessageId(answer);
            yield return Event("response.output_item.added", new JsonObject
            {
                ["output_index"] = outputIndex,
                ["item"] = MessageItem(answer, null, "in_progress"),
            });
            yield return Event("response.content_part.added", new JsonObject
            {
                ["item_id"] = itemId,
                ["output_index"] = outputIndex,
                ["content_index"] = 0,
                ["part"] = TextPart("", null),
            });
            foreach (var (piece, logprobs) in TextDeltas(answer))
            {
                yield return Event("response.output_text.delta", new JsonObject
                {
                    ["item_id"] = itemId,
                    ["output_index"] = outputIndex,
                    ["content_index"] = 0,
                    ["delta"] = piece,
                    ["logprobs"] = logprobs,
                });
            }

            yield return Event("response.output_text.done", new JsonObject
            {
                ["item_id"] = itemId,
                ["output_index"] = outputIndex,
                ["content_index"] = 0,
                ["text"] = text,
                ["logprobs"] = answer.Reply.Logprobs?.DeepClone() ?? new JsonArray(),
            });
            yield return Event("response.content_part.done", new JsonObject
            {
                ["item_id"] = itemId,
                ["output_index"] = outputIndex,
                ["content_index"] = 0,
                ["part"] = TextPart(text, answer.Reply.Logprobs),
            });
            var done = MessageItem(answer, text, "completed");
            finalOutput.Add(done.DeepClone());
            yield return Event("response.output_item.done", new JsonObject { ["output_index"] = outputIndex, ["item"] = done });
            outputIndex++;
        }

        for (var i = 0; i < answer.ToolCalls.Count; i++, outputIndex++)
        {
            var call = answer.ToolCalls[i];
            var itemId = FunctionCallId(answer, i);
            yield return Event("response.output_item.added", new JsonObject
            {
                ["output_index"] = outputIndex,
                ["item"] = FunctionCallItem(answer, i, "", "in_progress"),
            });
            foreach (var fragment in ArgumentFragments.Of(call.ArgumentsJson))
            {
                yield return Event("response.function_call_arguments.delta", new JsonObject
                {
                    ["item_id"] = itemId,
                    ["output_index"] = outputIndex,
                    ["delta"] = fragment,
                });
            }

            yield return Event("response.function_call_arguments.done", new JsonObject
            {
                ["item_id"] = itemId,
                ["name"] = call.Name,
                ["output_index"] = outputIndex,
                ["arguments"] = call.ArgumentsJson,
            });
            var done = FunctionCallItem(answer, i, call.ArgumentsJson, "completed");
            finalOutput.Add(done.DeepClone());
            yield return Event("response.output_item.done", new JsonObject { ["output_index"] = outputIndex, ["item"] = done });
        }

        if (answer.OmitUsage)
        {
            final["usage"] = null;
        }

        var terminal = (string)final["status"]! == "incomplete" ? "response.incomplete" : "response.completed";
        yield return Event(terminal, new JsonObject { ["response"] = final });
    }

    public SseEvent RenderStreamError(Answer answer, string errorType, string message) =>
        new("error", WireJson.Write(new JsonObject
        {
            ["type"] = "error",
            ["code"] = errorType,
            ["message"] = message,
            ["param"] = null,

            // The error takes the place of the event after the last one sent, so it continues their numbering.
            ["sequence_number"] = answer.Fault?.StreamErrorAfterEvents ?? 0,
        }));

    private static JsonObject Response(Answer answer, bool completed)
    {
        var incomplete = completed && answer.Reply.EffectiveFinishReason == FakeFinishReason.Length;
        var body = answer.Request.Body;
        return new JsonObject
        {
            ["id"] = answer.Id,
            ["object"] = "response",
            ["created_at"] = answer.Created,
            ["status"] = !completed ? "in_progress" : incomplete ? "incomplete" : "completed",
            ["background"] = false,
            ["error"] = null,
            ["incomplete_details"] = incomplete ? new JsonObject { ["reason"] = "max_output_tokens" } : null,
            ["instructions"] = answer.Request.SystemPrompt,
            ["max_output_tokens"] = answer.Request.MaxOutputTokens,
            ["model"] = answer.Model,
            ["output"] = new JsonArray(),
            ["parallel_tool_calls"] = true,
            ["previous_response_id"] = body?["previous_response_id"]?.DeepClone(),
            ["reasoning"] = new JsonObject { ["effort"] = null, ["summary"] = null },
            ["store"] = body?["store"]?.DeepClone() ?? true,
            ["temperature"] = body?["temperature"]?.DeepClone() ?? 1.0,
            ["text"] = EchoedText(body?["text"]),
            ["tool_choice"] = body?["tool_choice"]?.DeepClone() ?? "auto",
            ["tools"] = EchoedTools(body?["tools"]),
            ["top_p"] = body?["top_p"]?.DeepClone() ?? 1.0,
            ["truncation"] = "disabled",
            ["usage"] = completed ? Usage(answer) : null,
            ["metadata"] = body?["metadata"]?.DeepClone() ?? new JsonObject(),
        };
    }

    /// <summary>
    /// The request's tools as the API echoes them: function tools carry <c>description</c>, <c>parameters</c>
    /// and <c>strict</c> (true by default on the Responses API) even when the request left them out.
    /// </summary>
    private static JsonArray EchoedTools(JsonNode? tools)
    {
        var echoed = new JsonArray();
        foreach (var tool in (tools as JsonArray ?? []).Select(t => t?.DeepClone()))
        {
            if (tool is JsonObject function && JsonText.String(function["type"]) == "function")
            {
                function.TryAdd("description", null);
                function.TryAdd("parameters", null);
                function.TryAdd("strict", true);
            }

            echoed.Add(tool);
        }

        return echoed;
    }

    /// <summary>The request's <c>text</c> settings as the API echoes them: its <c>format</c> (a JSON schema included), plain text by default.</summary>
    private static JsonObject EchoedText(JsonNode? text)
    {
        var echoed = text?.DeepClone() as JsonObject ?? new JsonObject();
        echoed.TryAdd("format", new JsonObject { ["type"] = "text" });
        return echoed;
    }

    private static JsonObject Usage(Answer answer) => new()
    {
        ["input_tokens"] = answer.InputTokens,
        ["input_tokens_details"] = new JsonObject
        {
            ["cached_tokens"] = answer.CachedInputTokens,
            ["cache_write_tokens"] = answer.CacheCreationInputTokens,
        },
        ["output_tokens"] = answer.OutputTokens,
        ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = answer.Reply.ReasoningTokens },
        ["total_tokens"] = answer.InputTokens + answer.OutputTokens,
    };

    private static string MessageId(Answer answer) => "msg_" + answer.Id["resp_".Length..];

    private static string FunctionCallId(Answer answer, int index) => $"fc_{answer.Id["resp_".Length..]}_{index}";

    private static JsonObject TextPart(string text, JsonArray? logprobs) => new()
    {
        ["type"] = "output_text",
        ["annotations"] = new JsonArray(),
        ["logprobs"] = logprobs?.DeepClone() ?? new JsonArray(),
        ["text"] = text,
    };

    /// <summary>
    /// The text's deltas: one per token, each with the log probabilities of its token (without the bytes, as the
    /// delta events carry them) when the request asked for them.
    /// </summary>
    private static IEnumerable<(string Piece, JsonArray Logprobs)> TextDeltas(Answer answer)
    {
        if (answer.Reply.Logprobs is not { } entries)
        {
            foreach (var piece in answer.TextPieces)
            {
                yield return (piece, []);
            }

            yield break;
        }

        foreach (var entry in entries.OfType<JsonObject>())
        {
            var top = new JsonArray();
            foreach (var alternative in (entry["top_logprobs"] as JsonArray ?? []).OfType<JsonObject>())
            {
                top.Add(new JsonObject { ["token"] = alternative["token"]?.DeepClone(), ["logprob"] = alternative["logprob"]?.DeepClone() });
            }

            yield return (JsonText.String(entry["token"]) ?? "", [new JsonObject
            {
                ["token"] = entry["token"]?.DeepClone(),
                ["logprob"] = entry["logprob"]?.DeepClone(),
                ["top_logprobs"] = top,
            }]);
        }
    }

    private static JsonObject MessageItem(Answer answer, string? text, string status) => new()
    {
        ["id"] = MessageId(answer),
        ["type"] = "message",
        ["status"] = status,
        ["content"] = text is null ? new JsonArray() : new JsonArray(TextPart(text, answer.Reply.Logprobs)),
        ["role"] = "assistant",
    };

    private static JsonObject FunctionCallItem(Answer answer, int index, string arguments, string status) => new()
    {
        ["id"] = FunctionCallId(answer, index),
        ["type"] = "function_call",
        ["status"] = status,
        ["arguments"] = arguments,
        ["call_id"] = answer.ToolCalls[index].Id,
        ["name"] = answer.ToolCalls[index].Name,
    };
}
