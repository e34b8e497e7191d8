using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Responses;

/// <summary>The Responses API objects that both the whole-answer and the streamed translation build.</summary>
internal static class ResponsesShapes
{
    /// <summary>The response id for an Anthropic message id (<c>msg_x</c> → <c>resp_x</c>).</summary>
    public static string ResponseId(string messageId) => "resp_" + Suffix(messageId, "msg_");

    /// <summary>The function_call item id for an Anthropic tool_use id (<c>toolu_x</c> → <c>fc_x</c>).</summary>
    public static string FunctionCallId(string toolUseId) => "fc_" + Suffix(toolUseId, "toolu_");

    public static JsonObject TextPart(string text) => new()
    {
        ["type"] = "output_text",
        ["annotations"] = new JsonArray(),
        ["logprobs"] = new JsonArray(),
        ["text"] = text,
    };

    public static JsonObject MessageItem(string messageId, JsonArray content, string status) => new()
    {
        ["id"] = messageId,
        ["type"] = "message",
        ["status"] = status,
        ["content"] = content,
        ["role"] = "assistant",
    };

    public static JsonObject FunctionCallItem(string toolUseId, string name, string arguments, string status) => new()
    {
        ["id"] = FunctionCallId(toolUseId),
        ["type"] = "function_call",
        ["status"] = status,
        ["arguments"] = arguments,
        ["call_id"] = toolUseId,
        ["name"] = name,
    };

    /// <summary>A response object in progress, echoing the caller's settings as OpenAI does.</summary>
    public static JsonObject Response(string messageId, JsonObject? request, DateTimeOffset created, string? model) => new()
    {
        ["id"] = ResponseId(messageId),
        ["object"] = "response",
        ["created_at"] = created.ToUnixTimeSeconds(),
        ["status"] = "in_progress",
        ["background"] = false,
        ["error"] = null,
        ["incomplete_details"] = null,
        ["instructions"] = request?["instructions"]?.DeepClone(),
        ["max_output_tokens"] = request?["max_output_tokens"]?.DeepClone(),
        ["model"] = model,
        ["output"] = new JsonArray(),
        ["parallel_tool_calls"] = request?["parallel_tool_calls"]?.DeepClone() ?? true,
        ["previous_response_id"] = null,
        ["reasoning"] = new JsonObject { ["effort"] = request?["reasoning"]?["effort"]?.DeepClone(), ["summary"] = null },
        ["store"] = false,
        ["temperature"] = request?["temperature"]?.DeepClone() ?? 1.0,
        ["text"] = request?["text"]?.DeepClone() ?? new JsonObject { ["format"] = new JsonObject { ["type"] = "text" } },
        ["tool_choice"] = request?["tool_choice"]?.DeepClone() ?? "auto",
        ["tools"] = request?["tools"]?.DeepClone() ?? new JsonArray(),
        ["top_p"] = request?["top_p"]?.DeepClone() ?? 1.0,
        ["truncation"] = "disabled",
        ["usage"] = null,
        ["user"] = request?["user"]?.DeepClone(),
        ["metadata"] = request?["metadata"]?.DeepClone() ?? new JsonObject(),
    };

    private static string Suffix(string id, string prefix) => id.StartsWith(prefix, StringComparison.Ordinal) ? id[prefix.Length..] : id;
}
