using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace RelayKit.Testing.Protocols.Anthropic;

/// <summary>Reads the policy-relevant fields of Anthropic Messages and count_tokens bodies.</summary>
internal static class AnthropicRequestReader
{
    /// <summary>
    /// Rejects a request without <c>anthropic-version</c>, with the real API's status and message, so a
    /// client or a relay translating from another format that forgets it fails here and not in production.
    /// The key is not checked: the fake authenticates nobody, and tests assert on the recorded headers instead.
    /// </summary>
    public static void RequireHeaders(IHeaderDictionary headers)
    {
        if (string.IsNullOrWhiteSpace(headers["anthropic-version"]))
        {
            throw new BadRequestException(400, "anthropic-version: header is required");
        }
    }

    public static ParsedBody ReadMessages(JsonObject body, bool requireMaxTokens)
    {
        if (string.IsNullOrWhiteSpace(JsonText.String(body["model"])))
        {
            throw new BadRequestException(400, "model: Field required", "model");
        }

        var model = JsonText.String(body["model"])!;
        if (body["messages"] is not JsonArray messages)
        {
            throw new BadRequestException(400, "messages: Field required", "messages");
        }

        if (messages.Count == 0)
        {
            throw new BadRequestException(400, "messages: at least one message is required", "messages");
        }

        var maxTokens = JsonText.Int(body["max_tokens"]);
        if (requireMaxTokens && maxTokens is null)
        {
            throw new BadRequestException(400, "max_tokens: Field required", "max_tokens");
        }

        if (maxTokens < 1)
        {
            throw new BadRequestException(400, "max_tokens: Input should be greater than or equal to 1", "max_tokens");
        }

        var system = JsonText.ContentText(body["system"]);
        var prompt = new StringBuilder(system ?? "");
        string? lastUser = null;
        foreach (var message in messages.OfType<JsonObject>())
        {
            var content = message["content"];
            var text = JsonText.ContentText(content);
            if (JsonText.String(message["role"]) == "user" && !string.IsNullOrEmpty(text))
            {
                lastUser = text;
            }

            JsonText.AppendLine(prompt, text);
            if (content is JsonArray blocks)
            {
                foreach (var block in blocks.OfType<JsonObject>())
                {
                    switch (JsonText.String(block["type"]))
                    {
                        case "tool_use":
                            JsonText.AppendLine(prompt, block["input"]?.ToJsonString());
                            break;
                        case "tool_result":
                            JsonText.AppendLine(prompt, JsonText.ContentText(block["content"]));
                            break;
                    }
                }
            }
        }

        var tools = new List<FakeTool>();
        if (body["tools"] is JsonArray toolArray)
        {
            foreach (var tool in toolArray.OfType<JsonObject>())
            {
                if (JsonText.String(tool["name"]) is { } name)
                {
                    tools.Add(new FakeTool(name, tool["input_schema"]?.DeepClone()));
                    JsonText.AppendLine(prompt, name);
                    JsonText.AppendLine(prompt, tool["input_schema"]?.ToJsonString());
                }
            }
        }

        var choice = body["tool_choice"] as JsonObject;
        var choiceType = JsonText.String(choice?["type"]);
        var forced = choiceType == "tool" ? JsonText.String(choice?["name"]) : null;
        if (choiceType is "tool" or "any" && tools.Count == 0)
        {
            throw new BadRequestException(400, "tool_choice.type: may only be specified while providing tools", "tool_choice");
        }

        if (choiceType == "tool" && (forced is null || tools.All(t => t.Name != forced)))
        {
            throw new BadRequestException(400, $"tool_choice.name: Tool '{forced}' not found in provided tools", "tool_choice");
        }

        return new ParsedBody
        {
            Model = model,
            Stream = JsonText.Bool(body["stream"]),
            LastUserMessage = lastUser,
            SystemPrompt = system,
            Tools = tools,
            ForcedToolName = forced,
            RequiresToolCall = choiceType == "any",
            MaxOutputTokens = maxTokens,
            PromptText = prompt.ToString(),
        };
    }
}
