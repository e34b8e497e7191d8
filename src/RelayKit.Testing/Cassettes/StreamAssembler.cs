using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// Builds the whole-response body a provider would have answered from a recorded stream, so a
/// streamed recording can answer a non-streamed request: OpenAI chat chunks into a
/// <c>chat.completion</c>, Anthropic events into a <c>message</c>, Responses events into the final <c>response</c>.
/// </summary>
internal static class StreamAssembler
{
    public static JsonObject? Assemble(FakeEndpoint endpoint, IReadOnlyList<RecordedEvent> events) => endpoint switch
    {
        FakeEndpoint.OpenAIChatCompletions => ChatCompletion(events),
        FakeEndpoint.AnthropicMessages => Message(events),
        FakeEndpoint.OpenAIResponses => Response(events),
        _ => null,
    };

    private static JsonObject? ChatCompletion(IReadOnlyList<RecordedEvent> events)
    {
        JsonObject? first = null;
        JsonNode? usage = null;
        var choices = new SortedDictionary<int, ChoiceBuilder>();
        foreach (var chunk in events.Select(e => e.Data).OfType<JsonObject>())
        {
            if (chunk.ContainsKey("error"))
            {
                continue;
            }

            first ??= chunk;
            if (chunk["usage"] is JsonObject u)
            {
                usage = u;
            }

            foreach (var choice in (chunk["choices"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var index = CassetteJson.Int(choice["index"]) ?? 0;
                if (!choices.TryGetValue(index, out var builder))
                {
                    choices[index] = builder = new ChoiceBuilder();
                }

                builder.Add(choice);
            }
        }

        if (first is null)
        {
            return null;
        }

        var body = new JsonObject
        {
            ["id"] = first["id"]?.DeepClone(),
            ["object"] = "chat.completion",
            ["created"] = first["created"]?.DeepClone(),
            ["model"] = first["model"]?.DeepClone(),
            ["choices"] = new JsonArray([.. choices.Select(c => (JsonNode)c.Value.Build(c.Key))]),
            ["usage"] = usage?.DeepClone(),
        };
        foreach (var extra in new[] { "service_tier", "system_fingerprint" })
        {
            if (first.ContainsKey(extra))
            {
                body[extra] = first[extra]?.DeepClone();
            }
        }

        return body;
    }

    private static JsonObject? Message(IReadOnlyList<RecordedEvent> events)
    {
        JsonObject? message = null;
        var blocks = new SortedDictionary<int, JsonObject>();
        var partialJson = new Dictionary<int, StringBuilder>();
        foreach (var data in events.Select(e => e.Data).OfType<JsonObject>())
        {
            var index = CassetteJson.Int(data["index"]) ?? 0;
            switch (CassetteJson.String(data["type"]))
            {
                case "message_start":
                    message = data["message"]?.DeepClone() as JsonObject;
                    break;
                case "content_block_start" when data["content_block"] is JsonObject block:
                    blocks[index] = (JsonObject)block.DeepClone();
                    break;
                case "content_block_delta" when blocks.TryGetValue(index, out var block) && data["delta"] is JsonObject delta:
                    switch (CassetteJson.String(delta["type"]))
                    {
                        case "text_delta":
                            block["text"] = CassetteJson.String(block["text"]) + CassetteJson.String(delta["text"]);
                            break;
                        case "thinking_delta":
                            block["thinking"] = CassetteJson.String(block["thinking"]) + CassetteJson.String(delta["thinking"]);
                            break;
                        case "signature_delta":
                            block["signature"] = CassetteJson.String(block["signature"]) + CassetteJson.String(delta["signature"]);
                            break;
                        case "citations_delta" when delta["citation"] is { } citation:
                            if (block["citations"] is not JsonArray citations)
                            {
                                block["citations"] = citations = [];
                            }

                            citations.Add(citation.DeepClone());
                            break;
                        case "input_json_delta":
                            if (!partialJson.TryGetValue(index, out var json))
                            {
                                partialJson[index] = json = new StringBuilder();
                            }

                            json.Append(CassetteJson.String(delta["partial_json"]));
                            break;
                    }

                    break;
                case "message_delta" when message is not null:
                    foreach (var (name, value) in data["delta"] as JsonObject ?? [])
                    {
                        message[name] = value?.DeepClone();
                    }

                    if (data["usage"] is JsonObject usage)
                    {
                        if (message["usage"] is not JsonObject target)
                        {
                            message["usage"] = target = [];
                        }

                        foreach (var (name, value) in usage)
                        {
                            target[name] = value?.DeepClone();
                        }
                    }

                    break;
            }
        }

        if (message is null)
        {
            return null;
        }

        foreach (var (index, json) in partialJson)
        {
            if (blocks.TryGetValue(index, out var block))
            {
                block["input"] = ParseInput(json.ToString());
            }
        }

        message["content"] = new JsonArray([.. blocks.Values]);
        return message;
    }

    private static JsonObject? Response(IReadOnlyList<RecordedEvent> events) =>
        events.Select(e => e.Data).OfType<JsonObject>()
            .LastOrDefault(d => CassetteJson.String(d["type"]) is "response.completed" or "response.incomplete" or "response.failed")
            ?["response"]?.DeepClone() as JsonObject;

    private static JsonNode ParseInput(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new JsonObject();
        }

        try
        {
            return JsonNode.Parse(json) ?? new JsonObject();
        }
        catch (JsonException)
        {
            return JsonValue.Create(json);
        }
    }

    /// <summary>Accumulates one choice's deltas in order.</summary>
    private sealed class ChoiceBuilder
    {
        private readonly SortedDictionary<int, (JsonObject Call, StringBuilder Arguments)> _toolCalls = [];
        private string _role = "assistant";
        private StringBuilder? _content;
        private StringBuilder? _refusal;
        private JsonNode? _finishReason;
        private JsonNode? _logprobs;

        /// <summary>
        /// Each chunk carries the log probabilities of its own tokens (<c>content</c>, <c>refusal</c>); the whole answer
        /// has them all, in order.
        /// </summary>
        private void AddLogprobs(JsonObject chunk)
        {
            if (_logprobs is not JsonObject whole)
            {
                _logprobs = chunk.DeepClone();
                return;
            }

            foreach (var (name, value) in chunk)
            {
                if (value is JsonArray tokens && whole[name] is JsonArray sofar)
                {
                    foreach (var token in tokens)
                    {
                        sofar.Add(token?.DeepClone());
                    }
                }
                else if (value is not null)
                {
                    whole[name] = value.DeepClone();
                }
            }
        }

        public void Add(JsonObject choice)
        {
            if (choice["finish_reason"] is { } finish)
            {
                _finishReason = finish.DeepClone();
            }

            if (choice["logprobs"] is JsonObject logprobs)
            {
                AddLogprobs(logprobs);
            }

            if (choice["delta"] is not JsonObject delta)
            {
                return;
            }

            _role = CassetteJson.String(delta["role"]) ?? _role;
            if (CassetteJson.String(delta["content"]) is { } content)
            {
                (_content ??= new StringBuilder()).Append(content);
            }

            if (CassetteJson.String(delta["refusal"]) is { } refusal)
            {
                (_refusal ??= new StringBuilder()).Append(refusal);
            }

            foreach (var call in (delta["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var index = CassetteJson.Int(call["index"]) ?? 0;
                if (!_toolCalls.TryGetValue(index, out var entry))
                {
                    entry = (new JsonObject { ["id"] = null, ["type"] = "function", ["function"] = new JsonObject { ["name"] = null } }, new StringBuilder());
                    _toolCalls[index] = entry;
                }

                if (CassetteJson.String(call["id"]) is { } id)
                {
                    entry.Call["id"] = id;
                }

                if (CassetteJson.String(call["function"]?["name"]) is { } name)
                {
                    entry.Call["function"]!["name"] = name;
                }

                entry.Arguments.Append(CassetteJson.String(call["function"]?["arguments"]));
            }
        }

        public JsonObject Build(int index)
        {
            var message = new JsonObject
            {
                ["role"] = _role,
                ["content"] = _content?.ToString(),
                ["refusal"] = _refusal?.ToString(),
                ["annotations"] = new JsonArray(),
            };
            if (_toolCalls.Count > 0)
            {
                message["tool_calls"] = new JsonArray([.. _toolCalls.Values.Select(entry =>
                {
                    var call = (JsonObject)entry.Call.DeepClone();
                    call["function"]!["arguments"] = entry.Arguments.ToString();
                    return (JsonNode)call;
                })]);
            }

            return new JsonObject
            {
                ["index"] = index,
                ["message"] = message,
                ["logprobs"] = _logprobs,
                ["finish_reason"] = _finishReason,
            };
        }
    }
}
