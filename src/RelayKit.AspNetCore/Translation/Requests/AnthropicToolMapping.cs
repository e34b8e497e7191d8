using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Requests;

/// <summary>OpenAI function tools and <c>tool_choice</c> (Chat Completions and Responses shapes) in Anthropic's terms.</summary>
internal static class AnthropicToolMapping
{
    /// <summary>An Anthropic custom tool for an OpenAI function definition.</summary>
    /// <param name="function">The object holding <c>name</c>, <c>description</c>, <c>parameters</c>, <c>strict</c>.</param>
    /// <param name="path">The JSON path of <paramref name="function"/>.</param>
    public static JsonObject Tool(JsonObject function, string path)
    {
        var tool = new JsonObject { ["name"] = JsonRead.RequireString(function["name"], JsonRead.Path(path, "name")) };
        if (JsonRead.String(function["description"], JsonRead.Path(path, "description")) is { } description)
        {
            tool["description"] = description;
        }

        // Anthropic requires an object schema; OpenAI allows omitting parameters for a no-argument function.
        tool["input_schema"] = JsonRead.Object(function["parameters"], JsonRead.Path(path, "parameters"))?.DeepClone()
            ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
        if (JsonRead.Bool(function["strict"], JsonRead.Path(path, "strict")) == true)
        {
            tool["strict"] = true;
        }

        return tool;
    }

    /// <summary>
    /// Anthropic's <c>tool_choice</c> for OpenAI's <c>tool_choice</c> and <c>parallel_tool_calls</c>;
    /// <see langword="null"/> when Anthropic's default (auto, parallel allowed) already says it.
    /// </summary>
    /// <param name="choice">OpenAI's <c>tool_choice</c>.</param>
    /// <param name="parallel">OpenAI's <c>parallel_tool_calls</c>.</param>
    /// <param name="hasTools">Whether the request defines tools.</param>
    /// <param name="nested">Whether a named choice nests the name under <c>function</c> (Chat Completions) or not (Responses).</param>
    public static JsonObject? ToolChoice(JsonNode? choice, bool? parallel, bool hasTools, bool nested)
    {
        const string Path = "tool_choice";
        JsonObject? result;
        switch (choice)
        {
            case null:
                result = null;
                break;
            case JsonValue:
                var mode = JsonRead.String(choice, Path);
                result = mode switch
                {
                    "auto" => new JsonObject { ["type"] = "auto" },
                    "none" => new JsonObject { ["type"] = "none" },
                    "required" => new JsonObject { ["type"] = "any" },
                    _ => throw new TranslationException(Path, $"'{mode}' is not a known tool choice (auto, none, required)"),
                };
                break;
            case JsonObject obj:
                var type = JsonRead.RequireString(obj["type"], JsonRead.Path(Path, "type"));
                if (type != "function")
                {
                    throw new TranslationException(JsonRead.Path(Path, "type"), $"'{type}' has no Anthropic equivalent (auto, none, required or a named function)");
                }

                var name = nested
                    ? JsonRead.RequireString(JsonRead.RequireObject(obj["function"], JsonRead.Path(Path, "function"))["name"], "tool_choice.function.name")
                    : JsonRead.RequireString(obj["name"], JsonRead.Path(Path, "name"));
                result = new JsonObject { ["type"] = "tool", ["name"] = name };
                break;
            default:
                throw new TranslationException(Path, "must be a string or an object");
        }

        if (!hasTools)
        {
            // Anthropic rejects tool_choice without tools; without tools nothing can be chosen anyway.
            if (result is not null && (string?)result["type"] is not ("none" or "auto"))
            {
                throw new TranslationException(Path, "requires tools");
            }

            return null;
        }

        if (parallel == false)
        {
            result ??= new JsonObject { ["type"] = "auto" };
            if ((string?)result["type"] != "none")
            {
                result["disable_parallel_tool_use"] = true;
            }
        }

        return result;
    }
}
