using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Requests;

/// <summary>
/// An OpenAI Responses request (<c>/v1/responses</c>) as an Anthropic Messages request: text, images,
/// instructions, function tools, and the function_call / function_call_output items of a tool loop.
/// The relay keeps no conversation state, so <c>previous_response_id</c> and <c>conversation</c> are refused.
/// </summary>
internal static class ResponsesToMessagesRequest
{
    // Fields that only steer OpenAI's platform (storage, background runs, caching keys, extra output), not the answer.
    private static readonly HashSet<string> PlatformHints =
        ["metadata", "store", "service_tier", "prompt_cache_key", "prompt_cache_retention", "include", "truncation", "background", "moderation", "stream_options"];

    public static JsonObject Translate(JsonObject request, RequestTranslationOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        var result = new JsonObject { ["model"] = options.UpstreamModel };
        var system = new JsonArray();
        if (JsonRead.String(request["instructions"], "instructions") is { Length: > 0 } instructions)
        {
            system.Add(new JsonObject { ["type"] = "text", ["text"] = instructions });
        }

        var turns = new AnthropicTurns();
        switch (request["input"])
        {
            case null:
                throw new TranslationException("input", "is required");
            case JsonValue value:
                turns.Add("user", new JsonObject { ["type"] = "text", ["text"] = JsonRead.String(value, "input") });
                break;
            case JsonArray items:
                for (var i = 0; i < items.Count; i++)
                {
                    AddItem(JsonRead.RequireObject(items[i], $"input[{i}]"), $"input[{i}]", system, turns);
                }

                break;
            default:
                throw new TranslationException("input", "must be a string or an array of items");
        }

        if (system.Count == 1)
        {
            result["system"] = system[0]!["text"]!.DeepClone();
        }
        else if (system.Count > 1)
        {
            result["system"] = system;
        }

        result["messages"] = turns.ToArray();
        result["max_tokens"] = JsonRead.Integer(request["max_output_tokens"], "max_output_tokens") ?? options.DefaultMaxTokens;

        foreach (var (name, value) in request)
        {
            if (value is null)
            {
                continue;
            }

            switch (name)
            {
                case "model" or "input" or "instructions" or "max_output_tokens" or "tools" or "tool_choice" or "parallel_tool_calls":
                    break;
                case "temperature" or "top_p" or "stream":
                    ChatCompletionsToMessagesRequest.Sampling(name, value, result);
                    break;
                case "reasoning":
                    var reasoning = JsonRead.Object(value, name)!;
                    if (JsonRead.String(reasoning["effort"], "reasoning.effort") is { } effortName
                        && ChatCompletionsToMessagesRequest.Effort(effortName, "reasoning.effort") is { } effort)
                    {
                        ChatCompletionsToMessagesRequest.OutputConfig(result)["effort"] = effort;
                    }

                    break;
                case "text":
                    var text = JsonRead.Object(value, name)!;
                    if (JsonRead.Object(text["format"], "text.format") is { } format
                        && ChatCompletionsToMessagesRequest.ResponseFormat(format, "text.format") is { } outputFormat)
                    {
                        ChatCompletionsToMessagesRequest.OutputConfig(result)["format"] = outputFormat;
                    }

                    if (text["verbosity"] is { } verbosity && JsonRead.String(verbosity, "text.verbosity") != "medium")
                    {
                        throw new TranslationException("text.verbosity", "Anthropic has no verbosity setting");
                    }

                    break;
                case "user" or "safety_identifier":
                    result["metadata"] = new JsonObject { ["user_id"] = JsonRead.String(request["safety_identifier"], "safety_identifier") ?? JsonRead.String(request["user"], "user") };
                    break;
                case "top_logprobs":
                    if (JsonRead.Integer(value, name) != 0)
                    {
                        throw new TranslationException(name, "log probabilities are not available from Anthropic");
                    }

                    break;
                case "previous_response_id" or "conversation":
                    throw new TranslationException(name, "the relay keeps no conversation state for Anthropic models; send the whole conversation in input");
                case "prompt" or "max_tool_calls" or "context_management":
                    throw new TranslationException(name, "has no Anthropic equivalent");
                default:
                    TranslationException.ThrowUnlessPlatformHint(name, PlatformHints, "an Anthropic model");
                    break;
            }
        }

        AnthropicToolMapping.AddTools(request, result, nested: false);

        return result;
    }

    private static void AddItem(JsonObject item, string path, JsonArray system, AnthropicTurns turns)
    {
        var type = JsonRead.String(item["type"], JsonRead.Path(path, "type")) ?? "message";
        switch (type)
        {
            case "message":
                AddMessage(item, path, system, turns);
                break;
            case "function_call":
                var argumentsPath = JsonRead.Path(path, "arguments");
                var input = AnthropicToolMapping.Arguments(JsonRead.String(item["arguments"], argumentsPath), argumentsPath);

                turns.Add("assistant", new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = JsonRead.RequireString(item["call_id"], JsonRead.Path(path, "call_id")),
                    ["name"] = JsonRead.RequireString(item["name"], JsonRead.Path(path, "name")),
                    ["input"] = input,
                });
                break;
            case "function_call_output":
                var outputPath = JsonRead.Path(path, "output");
                JsonNode output = item["output"] switch
                {
                    JsonValue value => JsonRead.String(value, outputPath)!,
                    JsonArray parts => new JsonArray([.. ContentBlocks(parts, outputPath, "user")]),
                    _ => throw new TranslationException(outputPath, "is required"),
                };
                turns.Add("user", new JsonObject
                {
                    ["type"] = "tool_result",
                    ["tool_use_id"] = JsonRead.RequireString(item["call_id"], JsonRead.Path(path, "call_id")),
                    ["content"] = output,
                });
                break;
            case "reasoning":
                // OpenAI's reasoning items are opaque (encrypted) and only meaningful to OpenAI models.
                break;
            default:
                throw new TranslationException(JsonRead.Path(path, "type"), $"'{type}' items cannot be translated to Anthropic (message, function_call, function_call_output)");
        }
    }

    private static void AddMessage(JsonObject item, string path, JsonArray system, AnthropicTurns turns)
    {
        var role = JsonRead.RequireString(item["role"], JsonRead.Path(path, "role"));
        var contentPath = JsonRead.Path(path, "content");
        var blocks = item["content"] switch
        {
            JsonValue value => JsonRead.String(value, contentPath) is { Length: > 0 } text ? [new JsonObject { ["type"] = "text", ["text"] = text }] : [],
            JsonArray parts => ContentBlocks(parts, contentPath, role),
            _ => throw new TranslationException(contentPath, "is required"),
        };
        switch (role)
        {
            case "system" or "developer":
                foreach (var block in blocks)
                {
                    if ((string?)block["type"] != "text")
                    {
                        throw new TranslationException(contentPath, "Anthropic system prompts hold text only");
                    }

                    system.Add(block);
                }

                break;
            case "user" or "assistant":
                foreach (var block in blocks)
                {
                    turns.Add(role, block);
                }

                break;
            default:
                throw new TranslationException(JsonRead.Path(path, "role"), $"'{role}' cannot be translated (system, developer, user, assistant)");
        }
    }

    private static List<JsonObject> ContentBlocks(JsonArray parts, string path, string role)
    {
        var blocks = new List<JsonObject>();
        for (var i = 0; i < parts.Count; i++)
        {
            var partPath = $"{path}[{i}]";
            var part = JsonRead.RequireObject(parts[i], partPath);
            var type = JsonRead.RequireString(part["type"], JsonRead.Path(partPath, "type"));
            switch (type)
            {
                case "input_text" or "output_text":
                    var text = JsonRead.RequireString(part["text"], JsonRead.Path(partPath, "text"));
                    if (text.Length > 0)
                    {
                        blocks.Add(new JsonObject { ["type"] = "text", ["text"] = text });
                    }

                    break;
                case "refusal" when role == "assistant":
                    blocks.Add(new JsonObject { ["type"] = "text", ["text"] = JsonRead.RequireString(part["refusal"], JsonRead.Path(partPath, "refusal")) });
                    break;
                case "input_image":
                    if (part["file_id"] is not null)
                    {
                        throw new TranslationException(JsonRead.Path(partPath, "file_id"), "uploaded OpenAI files cannot be sent to Anthropic; send image_url");
                    }

                    blocks.Add(ImageSources.ToAnthropicImage(JsonRead.RequireString(part["image_url"], JsonRead.Path(partPath, "image_url")), JsonRead.Path(partPath, "image_url")));
                    break;
                case "input_file":
                    if (part["file_data"] is null)
                    {
                        throw new TranslationException(partPath, "only inline file_data can be sent to Anthropic");
                    }

                    blocks.Add(ImageSources.ToAnthropicDocument(
                        JsonRead.RequireString(part["file_data"], JsonRead.Path(partPath, "file_data")),
                        JsonRead.String(part["filename"], JsonRead.Path(partPath, "filename")),
                        JsonRead.Path(partPath, "file_data")));
                    break;
                default:
                    throw new TranslationException(JsonRead.Path(partPath, "type"), $"'{type}' content cannot be translated to Anthropic (input_text, output_text, input_image, input_file)");
            }
        }

        return blocks;
    }
}
