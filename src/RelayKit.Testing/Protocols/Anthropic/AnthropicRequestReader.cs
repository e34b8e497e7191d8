using System.Text;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols.Anthropic;

/// <summary>Reads the policy-relevant fields of Anthropic Messages and count_tokens bodies.</summary>
internal static class AnthropicRequestReader
{
    public static ParsedBody ReadMessages(JsonObject body, bool requireMaxTokens)
    {
        var model = JsonText.RequireModel(body);
        if (body["messages"] is not JsonArray messages)
        {
            throw new BadRequestException(400, "messages: Field required", "messages");
        }

        var maxTokens = JsonText.Int(body["max_tokens"]);
        if (requireMaxTokens && maxTokens is null)
        {
            throw new BadRequestException(400, "max_tokens: Field required", "max_tokens");
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

            Append(prompt, text);
            if (content is JsonArray blocks)
            {
                foreach (var block in blocks.OfType<JsonObject>())
                {
                    switch (JsonText.String(block["type"]))
                    {
                        case "tool_use":
                            Append(prompt, block["input"]?.ToJsonString());
                            break;
                        case "tool_result":
                            Append(prompt, JsonText.ContentText(block["content"]));
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
                    Append(prompt, name);
                    Append(prompt, tool["input_schema"]?.ToJsonString());
                }
            }
        }

        var choice = body["tool_choice"] as JsonObject;
        var choiceType = JsonText.String(choice?["type"]);
        return new ParsedBody
        {
            Model = model,
            Stream = JsonText.Bool(body["stream"]),
            LastUserMessage = lastUser,
            SystemPrompt = system,
            Tools = tools,
            ForcedToolName = choiceType == "tool" ? JsonText.String(choice?["name"]) : null,
            RequiresToolCall = choiceType == "any",
            MaxOutputTokens = maxTokens,
            PromptText = prompt.ToString(),
        };
    }

    private static void Append(StringBuilder prompt, string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            if (prompt.Length > 0)
            {
                prompt.Append('\n');
            }

            prompt.Append(text);
        }
    }
}
