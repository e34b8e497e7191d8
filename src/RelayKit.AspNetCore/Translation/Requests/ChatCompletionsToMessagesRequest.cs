using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Requests;

/// <summary>
/// An OpenAI Chat Completions request as an Anthropic Messages request. Every field is either mapped,
/// dropped for a documented reason (a hint with no effect on the answer), or refused with a
/// <see cref="TranslationException"/> naming it. README "Translation" lists each decision.
/// </summary>
internal static class ChatCompletionsToMessagesRequest
{
    // Fields that only steer OpenAI's platform (storage, billing tier, caching keys), not the answer.
    private static readonly HashSet<string> PlatformHints =
        ["metadata", "store", "service_tier", "prompt_cache_key", "prompt_cache_retention", "seed", "moderation"];

    public static JsonObject Translate(JsonObject request, RequestTranslationOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        var result = new JsonObject { ["model"] = options.UpstreamModel };
        var system = new JsonArray();
        var turns = new AnthropicTurns();
        var messages = JsonRead.Array(request["messages"], "messages") ?? throw new TranslationException("messages", "is required");
        for (var i = 0; i < messages.Count; i++)
        {
            AddMessage(JsonRead.RequireObject(messages[i], $"messages[{i}]"), $"messages[{i}]", system, turns);
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
        result["max_tokens"] = JsonRead.Integer(request["max_completion_tokens"], "max_completion_tokens")
            ?? JsonRead.Integer(request["max_tokens"], "max_tokens")
            ?? options.DefaultMaxTokens;

        foreach (var (name, value) in request)
        {
            if (value is null)
            {
                continue;
            }

            switch (name)
            {
                case "model" or "messages" or "max_completion_tokens" or "max_tokens" or "tools" or "tool_choice" or "parallel_tool_calls":
                    break;
                case "stream_options":
                    // stream_options.include_usage only shapes the caller's stream; Anthropic always reports usage. Read
                    // here so a malformed one is refused before anything is sent.
                    IncludeUsage(request);
                    break;
                case "temperature" or "top_p" or "stream":
                    Sampling(name, value, result);
                    break;
                case "stop":
                    result["stop_sequences"] = StopSequences(value);
                    break;
                case "n":
                    if (JsonRead.Integer(value, name) != 1)
                    {
                        throw new TranslationException(name, "Anthropic returns one choice per request; only n=1 can be translated");
                    }

                    break;
                case "logprobs":
                    RequireDefault(value, name, JsonRead.Bool(value, name) == false, "log probabilities are not available from Anthropic");
                    break;
                case "top_logprobs":
                    RequireDefault(value, name, JsonRead.Integer(value, name) == 0, "log probabilities are not available from Anthropic");
                    break;
                case "frequency_penalty" or "presence_penalty":
                    RequireDefault(value, name, JsonRead.Number(value, name) == 0, "Anthropic has no repetition penalties");
                    break;
                case "logit_bias":
                    RequireDefault(value, name, JsonRead.Object(value, name)!.Count == 0, "Anthropic has no logit bias");
                    break;
                case "modalities":
                    var modalities = JsonRead.Array(value, name)!;
                    RequireDefault(value, name, modalities.All(m => m is JsonValue v && v.GetValueKind() == JsonValueKind.String && (string?)v == "text"), "Anthropic answers with text only");
                    break;
                case "verbosity":
                    RequireDefault(value, name, JsonRead.String(value, name) == "medium", "Anthropic has no verbosity setting");
                    break;
                case "reasoning_effort":
                    if (Effort(JsonRead.String(value, name)!, name) is { } effort)
                    {
                        OutputConfig(result)["effort"] = effort;
                    }

                    break;
                case "response_format":
                    if (ResponseFormat(JsonRead.Object(value, name)!, name) is { } format)
                    {
                        OutputConfig(result)["format"] = format;
                    }

                    break;
                case "user" or "safety_identifier":
                    // An end-user id for abuse tracking: Anthropic's metadata.user_id is the same thing.
                    result["metadata"] = new JsonObject { ["user_id"] = JsonRead.String(request["safety_identifier"], "safety_identifier") ?? JsonRead.String(request["user"], "user") };
                    break;
                case "audio" or "prediction" or "web_search_options":
                    throw new TranslationException(name, "has no Anthropic equivalent");
                case "functions" or "function_call":
                    throw new TranslationException(name, "the deprecated functions API cannot be translated; use tools and tool_choice");
                default:
                    TranslationException.ThrowUnlessPlatformHint(name, PlatformHints, "an Anthropic model");
                    break;
            }
        }

        AnthropicToolMapping.AddTools(request, result, nested: true);

        return result;
    }

    /// <summary>
    /// Whether the caller asked for a usage chunk at the end of its stream (<c>stream_options.include_usage</c>);
    /// a <see cref="TranslationException"/> when <c>stream_options</c> is not an object or the flag not a boolean.
    /// </summary>
    internal static bool IncludeUsage(JsonObject request) =>
        JsonRead.Bool(JsonRead.Object(request["stream_options"], "stream_options")?["include_usage"], "stream_options.include_usage") == true;

    /// <summary>
    /// Carries <c>temperature</c>, <c>top_p</c> or <c>stream</c>, which mean the same in both formats (Chat Completions
    /// and Responses), refusing a temperature above Anthropic's maximum of 1 rather than clamping it.
    /// </summary>
    internal static void Sampling(string name, JsonNode? value, JsonObject result)
    {
        switch (name)
        {
            case "temperature":
                var temperature = JsonRead.Number(value, name)!.Value;
                if (temperature > 1)
                {
                    throw new TranslationException(name, $"{temperature} is above Anthropic's maximum of 1");
                }

                result["temperature"] = temperature;
                break;
            case "top_p":
                result["top_p"] = JsonRead.Number(value, name);
                break;
            case "stream":
                result["stream"] = JsonRead.Bool(value, name);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "not a sampling field");
        }
    }

    /// <summary>Anthropic's <c>output_config.effort</c> for an OpenAI reasoning effort; <see langword="null"/> for none.</summary>
    internal static string? Effort(string effort, string path) => effort switch
    {
        "none" => null,
        "minimal" or "low" => "low",
        "medium" or "high" or "xhigh" or "max" => effort,
        _ => throw new TranslationException(path, $"'{effort}' is not a known reasoning effort"),
    };

    /// <summary>Anthropic's <c>output_config.format</c> for an OpenAI response format; <see langword="null"/> for plain text.</summary>
    internal static JsonObject? ResponseFormat(JsonObject format, string path)
    {
        var type = JsonRead.RequireString(format["type"], JsonRead.Path(path, "type"));
        switch (type)
        {
            case "text":
                return null;
            case "json_schema":
                // Chat Completions nests the schema under json_schema; Responses' text.format holds it directly.
                var holder = format["json_schema"] is JsonObject nested ? nested : format;
                var holderPath = format["json_schema"] is JsonObject ? JsonRead.Path(path, "json_schema") : path;
                var schema = JsonRead.Object(holder["schema"], JsonRead.Path(holderPath, "schema"))
                    ?? throw new TranslationException(JsonRead.Path(holderPath, "schema"), "is required: Anthropic structured outputs need a schema");
                return new JsonObject { ["type"] = "json_schema", ["schema"] = schema.DeepClone() };
            default:
                throw new TranslationException(JsonRead.Path(path, "type"), $"'{type}' has no Anthropic equivalent (text or json_schema)");
        }
    }

    /// <summary>The request's <c>output_config</c>, added when it is first needed.</summary>
    internal static JsonObject OutputConfig(JsonObject result)
    {
        if (result["output_config"] is not JsonObject config)
        {
            config = [];
            result["output_config"] = config;
        }

        return config;
    }

    private static void RequireDefault(JsonNode value, string path, bool isDefault, string reason)
    {
        if (!isDefault)
        {
            throw new TranslationException(path, $"{value.ToJsonString()} cannot be translated: {reason}");
        }
    }

    private static JsonArray StopSequences(JsonNode value)
    {
        if (value is JsonValue)
        {
            return [JsonRead.String(value, "stop")];
        }

        var array = JsonRead.Array(value, "stop")!;
        var result = new JsonArray();
        for (var i = 0; i < array.Count; i++)
        {
            result.Add(JsonRead.RequireString(array[i], $"stop[{i}]"));
        }

        return result;
    }

    private static void AddMessage(JsonObject message, string path, JsonArray system, AnthropicTurns turns)
    {
        var role = JsonRead.RequireString(message["role"], JsonRead.Path(path, "role"));
        var content = message["content"];
        var contentPath = JsonRead.Path(path, "content");
        switch (role)
        {
            case "system" or "developer":
                foreach (var text in TextParts(content, contentPath))
                {
                    system.Add(new JsonObject { ["type"] = "text", ["text"] = text });
                }

                break;
            case "user":
                foreach (var block in UserBlocks(content, contentPath))
                {
                    turns.Add("user", block);
                }

                break;
            case "assistant":
                foreach (var field in new[] { "audio", "function_call" })
                {
                    if (message[field] is not null)
                    {
                        throw new TranslationException(JsonRead.Path(path, field), "has no Anthropic equivalent");
                    }
                }

                foreach (var text in TextParts(content, contentPath, allowRefusal: true))
                {
                    turns.Add("assistant", new JsonObject { ["type"] = "text", ["text"] = text });
                }

                if (JsonRead.String(message["refusal"], JsonRead.Path(path, "refusal")) is { Length: > 0 } refusal)
                {
                    turns.Add("assistant", new JsonObject { ["type"] = "text", ["text"] = refusal });
                }

                var calls = JsonRead.Array(message["tool_calls"], JsonRead.Path(path, "tool_calls")) ?? [];
                for (var i = 0; i < calls.Count; i++)
                {
                    turns.Add("assistant", ToolUse(JsonRead.RequireObject(calls[i], $"{path}.tool_calls[{i}]"), $"{path}.tool_calls[{i}]"));
                }

                break;
            case "tool":
                var result = new JsonObject
                {
                    ["type"] = "tool_result",
                    ["tool_use_id"] = JsonRead.RequireString(message["tool_call_id"], JsonRead.Path(path, "tool_call_id")),
                };
                var texts = TextParts(content, contentPath).ToList();
                result["content"] = texts.Count == 1
                    ? texts[0]
                    : new JsonArray([.. texts.Select(t => (JsonNode)new JsonObject { ["type"] = "text", ["text"] = t })]);
                turns.Add("user", result);
                break;
            default:
                throw new TranslationException(JsonRead.Path(path, "role"), $"'{role}' cannot be translated (system, developer, user, assistant, tool)");
        }
    }

    private static JsonObject ToolUse(JsonObject call, string path)
    {
        var type = JsonRead.String(call["type"], JsonRead.Path(path, "type")) ?? "function";
        if (type != "function")
        {
            throw new TranslationException(JsonRead.Path(path, "type"), $"'{type}' tool calls have no Anthropic equivalent");
        }

        var function = JsonRead.RequireObject(call["function"], JsonRead.Path(path, "function"));
        var argumentsPath = JsonRead.Path(path, "function.arguments");
        var input = AnthropicToolMapping.Arguments(JsonRead.String(function["arguments"], argumentsPath), argumentsPath);

        return new JsonObject
        {
            ["type"] = "tool_use",
            ["id"] = JsonRead.RequireString(call["id"], JsonRead.Path(path, "id")),
            ["name"] = JsonRead.RequireString(function["name"], JsonRead.Path(path, "function.name")),
            ["input"] = input,
        };
    }

    /// <summary>The non-empty texts of a string or text-part content; other part types are refused.</summary>
    private static IEnumerable<string> TextParts(JsonNode? content, string path, bool allowRefusal = false)
    {
        if (content is null)
        {
            yield break;
        }

        if (content is JsonValue)
        {
            var text = JsonRead.String(content, path);
            if (!string.IsNullOrEmpty(text))
            {
                yield return text;
            }

            yield break;
        }

        var parts = JsonRead.Array(content, path)!;
        for (var i = 0; i < parts.Count; i++)
        {
            var partPath = $"{path}[{i}]";
            var part = JsonRead.RequireObject(parts[i], partPath);
            var type = JsonRead.RequireString(part["type"], JsonRead.Path(partPath, "type"));
            var text = type switch
            {
                "text" => JsonRead.RequireString(part["text"], JsonRead.Path(partPath, "text")),
                "refusal" when allowRefusal => JsonRead.RequireString(part["refusal"], JsonRead.Path(partPath, "refusal")),
                _ => throw new TranslationException(JsonRead.Path(partPath, "type"), $"'{type}' content cannot be translated here (text only)"),
            };
            if (text.Length > 0)
            {
                yield return text;
            }
        }
    }

    private static IEnumerable<JsonObject> UserBlocks(JsonNode? content, string path)
    {
        if (content is JsonValue or null)
        {
            foreach (var text in TextParts(content, path))
            {
                yield return new JsonObject { ["type"] = "text", ["text"] = text };
            }

            yield break;
        }

        var parts = JsonRead.Array(content, path)!;
        for (var i = 0; i < parts.Count; i++)
        {
            var partPath = $"{path}[{i}]";
            var part = JsonRead.RequireObject(parts[i], partPath);
            var type = JsonRead.RequireString(part["type"], JsonRead.Path(partPath, "type"));
            switch (type)
            {
                case "text":
                    var text = JsonRead.RequireString(part["text"], JsonRead.Path(partPath, "text"));
                    if (text.Length > 0)
                    {
                        yield return new JsonObject { ["type"] = "text", ["text"] = text };
                    }

                    break;
                case "image_url":
                    var image = JsonRead.RequireObject(part["image_url"], JsonRead.Path(partPath, "image_url"));
                    yield return ImageSources.ToAnthropicImage(JsonRead.RequireString(image["url"], JsonRead.Path(partPath, "image_url.url")), JsonRead.Path(partPath, "image_url.url"));
                    break;
                case "file":
                    var file = JsonRead.RequireObject(part["file"], JsonRead.Path(partPath, "file"));
                    if (file["file_id"] is not null)
                    {
                        throw new TranslationException(JsonRead.Path(partPath, "file.file_id"), "uploaded OpenAI files cannot be sent to Anthropic; send file_data");
                    }

                    yield return ImageSources.ToAnthropicDocument(
                        JsonRead.RequireString(file["file_data"], JsonRead.Path(partPath, "file.file_data")),
                        JsonRead.String(file["filename"], JsonRead.Path(partPath, "file.filename")),
                        JsonRead.Path(partPath, "file.file_data"));
                    break;
                default:
                    throw new TranslationException(JsonRead.Path(partPath, "type"), $"'{type}' content cannot be translated to Anthropic (text, image_url, file)");
            }
        }
    }
}
