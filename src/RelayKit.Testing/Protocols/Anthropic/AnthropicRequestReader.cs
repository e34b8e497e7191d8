using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace RelayKit.Testing.Protocols.Anthropic;

/// <summary>Reads the policy-relevant fields of Anthropic Messages and count_tokens bodies.</summary>
internal static class AnthropicRequestReader
{
    private const int MinThinkingBudget = 1024;

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

    /// <summary>
    /// Reads <c>thinking</c>: <c>enabled</c> with its <c>budget_tokens</c> (at least 1024 and below <c>max_tokens</c>,
    /// as the API requires), <c>adaptive</c> or <c>between_tools</c> (the model picks its budget), or <c>disabled</c>.
    /// </summary>
    private static (bool Enabled, int? Budget, bool Omitted) ReadThinking(JsonNode? node, int? maxTokens)
    {
        var omitted = JsonText.String(JsonText.Field(node, "display")) == "omitted";
        switch (JsonText.String(JsonText.Field(node, "type")))
        {
            case null when node is null:
            case "disabled":
                return (false, null, false);
            case "adaptive" or "between_tools":
                return (true, null, omitted);
            case "enabled":
                var budget = JsonText.Int(JsonText.Field(node, "budget_tokens"))
                    ?? throw new BadRequestException(400, "thinking.enabled.budget_tokens: Field required", "thinking");
                if (budget < MinThinkingBudget)
                {
                    throw new BadRequestException(400, $"thinking.enabled.budget_tokens: Input should be greater than or equal to {MinThinkingBudget}", "thinking");
                }

                if (maxTokens is { } max && max <= budget)
                {
                    throw new BadRequestException(400, "`max_tokens` must be greater than `thinking.budget_tokens`.", "max_tokens");
                }

                return (true, budget, omitted);
            default:
                throw new BadRequestException(400, "thinking: Input tag '" + JsonText.String(JsonText.Field(node, "type")) + "' found using 'type' does not match any of the expected tags: 'adaptive', 'between_tools', 'disabled', 'enabled'", "thinking");
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

        var thinking = ReadThinking(body["thinking"], maxTokens);
        if (thinking.Enabled && choiceType is "tool" or "any")
        {
            throw new BadRequestException(400, "Thinking may not be enabled when tool_choice forces tool use.", "tool_choice");
        }

        // Structured outputs: output_config.format, or output_format as the structured-outputs beta first named it.
        // Anthropic enforces every JSON schema the way OpenAI's strict mode does.
        if (body["output_config"] is not null and not JsonObject)
        {
            throw new BadRequestException(400, "output_config: Input should be a valid dictionary", "output_config");
        }

        var formatName = body["output_config"]?["format"] is not null ? "output_config.format" : "output_format";
        var format = JsonText.Field(body["output_config"], "format") ?? body["output_format"];
        var schema = JsonText.String(JsonText.Field(format, "type")) == "json_schema"
            ? JsonText.Field(format, "schema")?.DeepClone() ?? throw new BadRequestException(400, $"{formatName}.schema: Field required", formatName)
            : null;
        return new ParsedBody
        {
            Model = model,
            Stream = JsonText.Bool(body["stream"]),
            OutputSchema = schema,
            IsOutputSchemaStrict = schema is not null,
            RequiresJsonOutput = schema is not null,
            RequestsThinking = thinking.Enabled,
            ThinkingBudgetTokens = thinking.Budget,
            OmitsThinkingText = thinking.Omitted,
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
