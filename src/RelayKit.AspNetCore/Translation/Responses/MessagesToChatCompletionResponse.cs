using System.Text;
using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Responses;

/// <summary>An Anthropic <c>message</c> as an OpenAI <c>chat.completion</c>.</summary>
internal static class MessagesToChatCompletionResponse
{
    /// <param name="message">The Anthropic answer.</param>
    /// <param name="created">When the answer was made (Anthropic does not say; the relay passes its clock's now).</param>
    /// <param name="model">The model name to report; the upstream's when <see langword="null"/>.</param>
    public static JsonObject Translate(JsonObject message, DateTimeOffset created, string? model = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = new StringBuilder();
        var hasText = false;
        var toolCalls = new JsonArray();
        var content = JsonRead.Array(message["content"], "content") ?? [];
        for (var i = 0; i < content.Count; i++)
        {
            var path = $"content[{i}]";
            var block = JsonRead.RequireObject(content[i], path);
            var type = JsonRead.RequireString(block["type"], JsonRead.Path(path, "type"));
            switch (type)
            {
                case "text":
                    // Anthropic splits one answer into several text blocks around citations; OpenAI has one string.
                    text.Append(JsonRead.RequireString(block["text"], JsonRead.Path(path, "text")));
                    hasText = true;
                    break;
                case "tool_use":
                    toolCalls.Add(new JsonObject
                    {
                        ["id"] = JsonRead.RequireString(block["id"], JsonRead.Path(path, "id")),
                        ["type"] = "function",
                        ["function"] = new JsonObject
                        {
                            ["name"] = JsonRead.RequireString(block["name"], JsonRead.Path(path, "name")),
                            ["arguments"] = (block["input"] ?? new JsonObject()).ToJsonString(),
                        },
                    });
                    break;
                case "thinking" or "redacted_thinking":
                    // Chat Completions has no place for reasoning text; its tokens stay counted in usage.
                    break;
                default:
                    throw new TranslationException(JsonRead.Path(path, "type"), $"'{type}' blocks cannot be translated to Chat Completions");
            }
        }

        var assistant = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = hasText ? text.ToString() : null,
            ["refusal"] = null,
            ["annotations"] = new JsonArray(),
        };
        if (toolCalls.Count > 0)
        {
            assistant["tool_calls"] = toolCalls;
        }

        var result = new JsonObject
        {
            ["id"] = JsonRead.RequireString(message["id"], "id"),
            ["object"] = "chat.completion",
            ["created"] = created.ToUnixTimeSeconds(),
            ["model"] = model ?? JsonRead.String(message["model"], "model"),
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = assistant,
                ["logprobs"] = null,
                ["finish_reason"] = StopReasons.ToFinishReason(JsonRead.String(message["stop_reason"], "stop_reason")),
            }),
        };
        if (JsonRead.Object(message["usage"], "usage") is { } usage)
        {
            result["usage"] = UsageMapping.ToOpenAIChat(UsageMapping.FromAnthropic(usage));
        }

        return result;
    }
}
