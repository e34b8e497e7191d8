using System.Text.Json;
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
    /// Writes Anthropic's <c>tools</c> and <c>tool_choice</c> into <paramref name="result"/> for the OpenAI request's
    /// <c>tools</c>, <c>tool_choice</c> and <c>parallel_tool_calls</c>, leaving out what Anthropic's defaults already say.
    /// </summary>
    /// <param name="request">The OpenAI request.</param>
    /// <param name="result">The Anthropic request being built.</param>
    /// <param name="nested">Whether definitions and named choices nest under <c>function</c> (Chat Completions) or not (Responses).</param>
    public static void AddTools(JsonObject request, JsonObject result, bool nested)
    {
        var tools = Tools(request["tools"], nested);
        if (tools is not null)
        {
            result["tools"] = tools;
        }

        if (ToolChoice(request["tool_choice"], JsonRead.Bool(request["parallel_tool_calls"], "parallel_tool_calls"), tools is not null, nested) is { } choice)
        {
            result["tool_choice"] = choice;
        }
    }

    /// <summary>Anthropic tools for OpenAI's <c>tools</c> (functions only); <see langword="null"/> when there are none.</summary>
    /// <param name="tools">OpenAI's <c>tools</c>.</param>
    /// <param name="nested">Whether each definition sits under <c>function</c> (Chat Completions) or in the tool itself (Responses).</param>
    public static JsonArray? Tools(JsonNode? tools, bool nested)
    {
        var list = JsonRead.Array(tools, "tools");
        if (list is not { Count: > 0 })
        {
            return null;
        }

        var anthropicTools = new JsonArray();
        for (var i = 0; i < list.Count; i++)
        {
            var path = $"tools[{i}]";
            var tool = JsonRead.RequireObject(list[i], path);
            var type = JsonRead.RequireString(tool["type"], JsonRead.Path(path, "type"));
            if (type != "function")
            {
                throw new TranslationException(JsonRead.Path(path, "type"), $"'{type}' tools have no Anthropic equivalent (function only)");
            }

            anthropicTools.Add(nested
                ? Tool(JsonRead.RequireObject(tool["function"], JsonRead.Path(path, "function")), JsonRead.Path(path, "function"))
                : Tool(tool, path));
        }

        return anthropicTools;
    }

    /// <summary>A tool call's arguments (a JSON string in OpenAI's formats) as the object Anthropic's <c>tool_use.input</c> is.</summary>
    public static JsonObject Arguments(string? arguments, string path)
    {
        JsonNode? input;
        try
        {
            input = string.IsNullOrWhiteSpace(arguments) ? new JsonObject() : JsonNode.Parse(arguments);
        }
        catch (JsonException)
        {
            throw new TranslationException(path, "is not valid JSON; Anthropic needs the arguments as an object");
        }

        return input as JsonObject
            ?? throw new TranslationException(path, "must be a JSON object; Anthropic needs the arguments as an object");
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
