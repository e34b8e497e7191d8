using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Requests;

/// <summary>
/// An Anthropic Messages request as an OpenAI Chat Completions request. Streams always ask for
/// <c>stream_options.include_usage</c> so the upstream's real usage arrives and the relay can settle from it.
/// README "Translation" lists each mapping decision.
/// </summary>
internal static class MessagesToChatCompletionsRequest
{
    // Prompt-cache breakpoints and routing hints: OpenAI caches prompts automatically and has no such knobs.
    private static readonly HashSet<string> PlatformHints = ["cache_control", "service_tier", "inference_geo", "speed"];

    public static JsonObject Translate(JsonObject request, RequestTranslationOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        var messages = new JsonArray();
        var result = new JsonObject { ["model"] = options.UpstreamModel, ["messages"] = messages };
        if (request["system"] is { } system && SystemText(system, "system") is var systemContent
            && systemContent is not JsonArray { Count: 0 } && (systemContent is not JsonValue || ((string?)systemContent)?.Length > 0))
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = systemContent });
        }

        var source = JsonRead.Array(request["messages"], "messages") ?? throw new TranslationException("messages", "is required");
        for (var i = 0; i < source.Count; i++)
        {
            AddMessage(JsonRead.RequireObject(source[i], $"messages[{i}]"), $"messages[{i}]", messages);
        }

        // A last assistant turn is Anthropic's prefill: the answer continues its text. OpenAI writes a new answer after
        // it instead, so a caller that joins prefill and answer would get something else than it asked for.
        if (source.Count > 0 && messages[^1] is JsonObject { } last && (string?)last["role"] == "assistant" && last["tool_calls"] is null
            && last["content"] is not null)
        {
            throw new TranslationException($"messages[{source.Count - 1}]",
                "a last assistant message (prefill, which the answer continues) has no OpenAI equivalent; end with a user message");
        }

        string? effort = null;
        foreach (var (name, value) in request)
        {
            if (value is null)
            {
                continue;
            }

            switch (name)
            {
                case "model" or "system" or "messages" or "tools" or "tool_choice":
                    break;
                case "max_tokens":
                    // max_completion_tokens is the field every current OpenAI model accepts; max_tokens is refused by reasoning models.
                    result["max_completion_tokens"] = JsonRead.Integer(value, name);
                    break;
                case "temperature":
                    result["temperature"] = JsonRead.Number(value, name);
                    break;
                case "top_p":
                    result["top_p"] = JsonRead.Number(value, name);
                    break;
                case "top_k":
                    throw new TranslationException(name, "OpenAI has no top_k sampling");
                case "stop_sequences":
                    var stops = JsonRead.Array(value, name)!;
                    if (stops.Count > 4)
                    {
                        throw new TranslationException(name, "OpenAI accepts at most 4 stop sequences");
                    }

                    if (stops.Count > 0)
                    {
                        result["stop"] = new JsonArray([.. stops.Select((s, i) => (JsonNode)JsonRead.RequireString(s, $"{name}[{i}]"))]);
                    }

                    break;
                case "stream":
                    var stream = JsonRead.Bool(value, name);
                    result["stream"] = stream;
                    if (stream == true)
                    {
                        result["stream_options"] = new JsonObject { ["include_usage"] = true };
                    }

                    break;
                case "metadata":
                    if (JsonRead.String(JsonRead.Object(value, name)!["user_id"], "metadata.user_id") is { } user)
                    {
                        result["user"] = user;
                    }

                    break;
                case "thinking":
                    effort ??= ThinkingEffort(JsonRead.Object(value, name)!);
                    break;
                case "output_config":
                    var config = JsonRead.Object(value, name)!;
                    if (JsonRead.String(config["effort"], "output_config.effort") is { } configured)
                    {
                        // The same names on both scales, max included (OpenAI's ReasoningEffort: none … high, xhigh, max).
                        effort = configured;
                    }

                    if (JsonRead.Object(config["format"], "output_config.format") is { } format)
                    {
                        var type = JsonRead.RequireString(format["type"], "output_config.format.type");
                        if (type != "json_schema")
                        {
                            throw new TranslationException("output_config.format.type", $"'{type}' has no OpenAI equivalent");
                        }

                        result["response_format"] = new JsonObject
                        {
                            ["type"] = "json_schema",
                            ["json_schema"] = new JsonObject
                            {
                                ["name"] = "output",
                                ["schema"] = JsonRead.RequireObject(format["schema"], "output_config.format.schema").DeepClone(),
                                ["strict"] = true,
                            },
                        };
                    }

                    break;
                case "container" or "mcp_servers" or "context_management":
                    throw new TranslationException(name, "has no OpenAI equivalent");
                default:
                    TranslationException.ThrowUnlessPlatformHint(name, PlatformHints, "an OpenAI model");
                    break;
            }
        }

        if (effort is not null)
        {
            result["reasoning_effort"] = effort;
        }

        var tools = JsonRead.Array(request["tools"], "tools");
        if (tools is { Count: > 0 })
        {
            var openAITools = new JsonArray();
            for (var i = 0; i < tools.Count; i++)
            {
                openAITools.Add(Tool(JsonRead.RequireObject(tools[i], $"tools[{i}]"), $"tools[{i}]"));
            }

            result["tools"] = openAITools;
        }

        if (JsonRead.Object(request["tool_choice"], "tool_choice") is { } choice)
        {
            var type = JsonRead.RequireString(choice["type"], "tool_choice.type");
            result["tool_choice"] = type switch
            {
                "auto" => "auto",
                "none" => "none",
                "any" => "required",
                "tool" => new JsonObject
                {
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = JsonRead.RequireString(choice["name"], "tool_choice.name") },
                },
                _ => throw new TranslationException("tool_choice.type", $"'{type}' has no OpenAI equivalent"),
            };
            if (JsonRead.Bool(choice["disable_parallel_tool_use"], "tool_choice.disable_parallel_tool_use") == true && tools is { Count: > 0 })
            {
                result["parallel_tool_calls"] = false;
            }
        }

        return result;
    }

    /// <summary>OpenAI's reasoning effort for an Anthropic thinking budget; <see langword="null"/> when thinking is off.</summary>
    private static string? ThinkingEffort(JsonObject thinking)
    {
        var type = JsonRead.RequireString(thinking["type"], "thinking.type");
        return type switch
        {
            "disabled" => null,
            "adaptive" => "medium",
            "enabled" => JsonRead.Integer(thinking["budget_tokens"], "thinking.budget_tokens") switch
            {
                null or < 4096 => "low",
                < 16384 => "medium",
                _ => "high",
            },
            _ => throw new TranslationException("thinking.type", $"'{type}' is not a known thinking mode"),
        };
    }

    private static JsonObject Tool(JsonObject tool, string path)
    {
        var type = JsonRead.String(tool["type"], JsonRead.Path(path, "type")) ?? "custom";
        if (type != "custom")
        {
            throw new TranslationException(JsonRead.Path(path, "type"), $"Anthropic server tool '{type}' has no OpenAI equivalent");
        }

        var function = new JsonObject { ["name"] = JsonRead.RequireString(tool["name"], JsonRead.Path(path, "name")) };
        if (JsonRead.String(tool["description"], JsonRead.Path(path, "description")) is { } description)
        {
            function["description"] = description;
        }

        function["parameters"] = JsonRead.RequireObject(tool["input_schema"], JsonRead.Path(path, "input_schema")).DeepClone();
        if (JsonRead.Bool(tool["strict"], JsonRead.Path(path, "strict")) == true)
        {
            function["strict"] = true;
        }

        return new JsonObject { ["type"] = "function", ["function"] = function };
    }

    private static void AddMessage(JsonObject message, string path, JsonArray messages)
    {
        var role = JsonRead.RequireString(message["role"], JsonRead.Path(path, "role"));
        var contentPath = JsonRead.Path(path, "content");
        if (role == "system")
        {
            // A mid-conversation system message stays where it is: OpenAI takes system messages anywhere.
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = SystemText(message["content"], contentPath) });
            return;
        }

        if (role is not ("user" or "assistant"))
        {
            throw new TranslationException(JsonRead.Path(path, "role"), $"'{role}' is not an Anthropic role (user, assistant, system)");
        }

        if (message["content"] is JsonValue value)
        {
            messages.Add(new JsonObject { ["role"] = role, ["content"] = JsonRead.String(value, contentPath) });
            return;
        }

        var blocks = JsonRead.Array(message["content"], contentPath) ?? throw new TranslationException(contentPath, "is required");
        var parts = new JsonArray();
        var toolCalls = new JsonArray();
        for (var i = 0; i < blocks.Count; i++)
        {
            var blockPath = $"{contentPath}[{i}]";
            var block = JsonRead.RequireObject(blocks[i], blockPath);
            var type = JsonRead.RequireString(block["type"], JsonRead.Path(blockPath, "type"));
            switch (type)
            {
                case "text":
                    parts.Add(new JsonObject { ["type"] = "text", ["text"] = JsonRead.RequireString(block["text"], JsonRead.Path(blockPath, "text")) });
                    break;
                case "image" when role == "user":
                    parts.Add(new JsonObject
                    {
                        ["type"] = "image_url",
                        ["image_url"] = new JsonObject { ["url"] = ImageSources.ToOpenAIImageUrl(JsonRead.RequireObject(block["source"], JsonRead.Path(blockPath, "source")), JsonRead.Path(blockPath, "source")) },
                    });
                    break;
                case "document" when role == "user":
                    parts.Add(Document(block, blockPath));
                    break;
                case "tool_use" when role == "assistant":
                    toolCalls.Add(new JsonObject
                    {
                        ["id"] = JsonRead.RequireString(block["id"], JsonRead.Path(blockPath, "id")),
                        ["type"] = "function",
                        ["function"] = new JsonObject
                        {
                            ["name"] = JsonRead.RequireString(block["name"], JsonRead.Path(blockPath, "name")),
                            ["arguments"] = (block["input"] ?? new JsonObject()).ToJsonString(),
                        },
                    });
                    break;
                case "tool_result" when role == "user":
                    // OpenAI wants each result as its own tool message right after the assistant's calls,
                    // so results leave the user turn ahead of any text that came with them.
                    FlushUserParts(messages, parts);
                    messages.Add(ToolMessage(block, blockPath));
                    break;
                case "thinking" or "redacted_thinking" when role == "assistant":
                    // Signed Anthropic reasoning is only meaningful to Anthropic models; OpenAI takes no prior reasoning in chat.
                    break;
                default:
                    throw new TranslationException(JsonRead.Path(blockPath, "type"), $"'{type}' blocks in {role} messages cannot be translated to OpenAI");
            }
        }

        if (role == "user")
        {
            FlushUserParts(messages, parts);
            return;
        }

        var assistant = new JsonObject { ["role"] = "assistant" };
        assistant["content"] = parts.Count switch
        {
            0 => null,
            1 => parts[0]!["text"]!.DeepClone(),
            _ => parts,
        };
        if (toolCalls.Count > 0)
        {
            assistant["tool_calls"] = toolCalls;
        }

        messages.Add(assistant);
    }

    /// <summary>OpenAI system content for an Anthropic system prompt: a string, or text parts for text blocks.</summary>
    private static JsonNode SystemText(JsonNode? content, string path)
    {
        switch (content)
        {
            case JsonValue value:
                return JsonRead.String(value, path)!;
            case JsonArray blocks:
                var texts = new JsonArray();
                for (var i = 0; i < blocks.Count; i++)
                {
                    var block = JsonRead.RequireObject(blocks[i], $"{path}[{i}]");
                    var type = JsonRead.RequireString(block["type"], $"{path}[{i}].type");
                    if (type != "text")
                    {
                        throw new TranslationException($"{path}[{i}].type", $"'{type}' system blocks cannot be translated (text only)");
                    }

                    texts.Add(new JsonObject { ["type"] = "text", ["text"] = JsonRead.RequireString(block["text"], $"{path}[{i}].text") });
                }

                return texts;
            default:
                throw new TranslationException(path, "must be a string or an array of text blocks");
        }
    }

    private static void FlushUserParts(JsonArray messages, JsonArray parts)
    {
        if (parts.Count == 0)
        {
            return;
        }

        var content = parts.Count == 1 && (string?)parts[0]!["type"] == "text" ? parts[0]!["text"]!.DeepClone() : new JsonArray([.. parts.Select(p => p!.DeepClone())]);
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = content });
        parts.Clear();
    }

    private static JsonObject ToolMessage(JsonObject block, string path)
    {
        var contentPath = JsonRead.Path(path, "content");
        string text;
        switch (block["content"])
        {
            case null:
                text = "";
                break;
            case JsonValue value:
                text = JsonRead.String(value, contentPath)!;
                break;
            case JsonArray parts:
                var texts = new List<string>();
                for (var i = 0; i < parts.Count; i++)
                {
                    var part = JsonRead.RequireObject(parts[i], $"{contentPath}[{i}]");
                    var type = JsonRead.RequireString(part["type"], $"{contentPath}[{i}].type");
                    if (type != "text")
                    {
                        throw new TranslationException($"{contentPath}[{i}].type", $"'{type}' tool results cannot be translated: OpenAI tool messages hold text only");
                    }

                    texts.Add(JsonRead.RequireString(part["text"], $"{contentPath}[{i}].text"));
                }

                text = string.Join("\n", texts);
                break;
            default:
                throw new TranslationException(contentPath, "must be a string or an array of blocks");
        }

        // OpenAI tool messages have no error flag; the marker keeps the failure visible to the model.
        if (JsonRead.Bool(block["is_error"], JsonRead.Path(path, "is_error")) == true)
        {
            text = "Error: " + text;
        }

        return new JsonObject
        {
            ["role"] = "tool",
            ["tool_call_id"] = JsonRead.RequireString(block["tool_use_id"], JsonRead.Path(path, "tool_use_id")),
            ["content"] = text,
        };
    }

    private static JsonObject Document(JsonObject block, string path)
    {
        var source = JsonRead.RequireObject(block["source"], JsonRead.Path(path, "source"));
        var type = JsonRead.RequireString(source["type"], JsonRead.Path(path, "source.type"));
        var mediaType = JsonRead.String(source["media_type"], JsonRead.Path(path, "source.media_type"));
        if (type != "base64" || mediaType != "application/pdf")
        {
            throw new TranslationException(JsonRead.Path(path, "source.type"), "only base64 PDF documents can be sent to OpenAI");
        }

        var file = new JsonObject
        {
            ["file_data"] = $"data:application/pdf;base64,{JsonRead.RequireString(source["data"], JsonRead.Path(path, "source.data"))}",
            ["filename"] = JsonRead.String(block["title"], JsonRead.Path(path, "title")) ?? "document.pdf",
        };
        return new JsonObject { ["type"] = "file", ["file"] = file };
    }
}
