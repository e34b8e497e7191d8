using System.Text.Json;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Translation.Responses;

/// <summary>An OpenAI <c>chat.completion</c> as an Anthropic <c>message</c>.</summary>
internal static class ChatCompletionToMessagesResponse
{
    /// <param name="completion">The OpenAI answer.</param>
    /// <param name="model">The model name to report; the upstream's when <see langword="null"/>.</param>
    public static JsonObject Translate(JsonObject completion, string? model = null)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var choices = JsonRead.Array(completion["choices"], "choices") ?? throw new TranslationException("choices", "is required");
        if (choices.Count != 1)
        {
            throw new TranslationException("choices", $"holds {choices.Count} choices; an Anthropic message holds exactly one");
        }

        var choice = JsonRead.RequireObject(choices[0], "choices[0]");
        var message = JsonRead.RequireObject(choice["message"], "choices[0].message");
        var content = new JsonArray();
        if (JsonRead.String(message["content"], "choices[0].message.content") is { Length: > 0 } text)
        {
            content.Add(new JsonObject { ["type"] = "text", ["text"] = text });
        }

        if (JsonRead.String(message["refusal"], "choices[0].message.refusal") is { Length: > 0 } refusal)
        {
            content.Add(new JsonObject { ["type"] = "text", ["text"] = refusal });
        }

        var calls = JsonRead.Array(message["tool_calls"], "choices[0].message.tool_calls") ?? [];
        for (var i = 0; i < calls.Count; i++)
        {
            content.Add(ToolUse(JsonRead.RequireObject(calls[i], $"choices[0].message.tool_calls[{i}]"), $"choices[0].message.tool_calls[{i}]"));
        }

        var finish = JsonRead.String(choice["finish_reason"], "choices[0].finish_reason");
        var result = new JsonObject
        {
            ["id"] = JsonRead.RequireString(completion["id"], "id"),
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = model ?? JsonRead.String(completion["model"], "model"),
            ["content"] = content,
            ["stop_reason"] = message["refusal"] is not null && finish == "stop" ? "refusal" : StopReasons.ToStopReason(finish),
            ["stop_sequence"] = null,
        };
        var usage = JsonRead.Object(completion["usage"], "usage");
        result["usage"] = UsageMapping.ToAnthropic(usage is null ? TokenUsage.None : UsageMapping.FromOpenAIChat(usage));
        return result;
    }

    internal static JsonObject ToolUse(JsonObject call, string path)
    {
        var type = JsonRead.String(call["type"], JsonRead.Path(path, "type")) ?? "function";
        if (type != "function")
        {
            throw new TranslationException(JsonRead.Path(path, "type"), $"'{type}' tool calls cannot be translated to Anthropic");
        }

        var function = JsonRead.RequireObject(call["function"], JsonRead.Path(path, "function"));
        return new JsonObject
        {
            ["type"] = "tool_use",
            ["id"] = JsonRead.RequireString(call["id"], JsonRead.Path(path, "id")),
            ["name"] = JsonRead.RequireString(function["name"], JsonRead.Path(path, "function.name")),
            ["input"] = ParseArguments(JsonRead.String(function["arguments"], JsonRead.Path(path, "function.arguments")), JsonRead.Path(path, "function.arguments")),

            // The current Messages API says who called a tool; an OpenAI function call is always the model's own.
            ["caller"] = new JsonObject { ["type"] = "direct" },
        };
    }

    /// <summary>Tool arguments as the JSON object Anthropic's <c>input</c> must be.</summary>
    internal static JsonObject ParseArguments(string? arguments, string path)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(arguments) as JsonObject
                ?? throw new TranslationException(path, "must be a JSON object; Anthropic tool input is an object");
        }
        catch (JsonException)
        {
            throw new TranslationException(path, "is not valid JSON; Anthropic tool input is an object");
        }
    }
}
