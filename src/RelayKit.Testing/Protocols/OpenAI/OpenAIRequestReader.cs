using System.Text;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols.OpenAI;

/// <summary>Reads the policy-relevant fields of OpenAI chat, responses and embeddings bodies.</summary>
internal static class OpenAIRequestReader
{
    private const int MaxEmbeddingDimensions = 8192;
    private const int MaxChoices = 128;
    private const int MaxTopLogprobs = 20;

    public static ParsedBody ReadChat(JsonObject body)
    {
        var model = JsonText.RequireModel(body);
        if (body["messages"] is not JsonArray messages || messages.Count == 0)
        {
            throw new BadRequestException(400, "'messages' is a required property and must be a non-empty array", "messages");
        }

        string? lastUser = null;
        var system = new StringBuilder();
        var prompt = new StringBuilder();
        foreach (var message in messages.OfType<JsonObject>())
        {
            var role = JsonText.String(message["role"]);
            var text = JsonText.ContentText(message["content"]);
            if (role is "system" or "developer" && text is not null)
            {
                system.Append(text);
            }
            else if (role == "user")
            {
                lastUser = text;
            }

            JsonText.AppendLine(prompt, text);
            if (message["tool_calls"] is JsonArray calls)
            {
                foreach (var call in calls)
                {
                    JsonText.AppendLine(prompt, JsonText.String(JsonText.Field(JsonText.Field(call, "function"), "arguments")));
                }
            }
        }

        var tools = ReadTools(body["tools"], nested: true);
        var (forced, required) = ReadToolChoice(body["tool_choice"], nested: true);
        var format = ReadOutputFormat(body["response_format"], "response_format", nested: true);
        if (format.Json && format.Schema is null && !MentionsJson(prompt))
        {
            throw new BadRequestException(400, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", "messages");
        }

        AppendTools(prompt, tools);
        var choices = ReadRange(body["n"], "n", 1, MaxChoices) ?? 1;
        var topLogprobs = ReadRange(body["top_logprobs"], "top_logprobs", 0, MaxTopLogprobs);
        if (topLogprobs is not null && !JsonText.Bool(body["logprobs"]))
        {
            throw new BadRequestException(400, "The 'top_logprobs' parameter is only allowed when 'logprobs' is enabled.", "top_logprobs", "invalid_request_error");
        }

        return new ParsedBody
        {
            Model = model,
            Stream = JsonText.Bool(body["stream"]),
            OutputSchema = format.Schema,
            IsOutputSchemaStrict = format.Strict,
            RequiresJsonOutput = format.Json,
            ChoiceCount = choices,
            TopLogprobs = JsonText.Bool(body["logprobs"]) ? topLogprobs ?? 0 : null,
            IncludeUsage = JsonText.Bool(JsonText.Field(body["stream_options"], "include_usage")),
            LastUserMessage = lastUser,
            SystemPrompt = system.Length == 0 ? null : system.ToString(),
            Tools = tools,
            ForcedToolName = forced,
            RequiresToolCall = required,
            MaxOutputTokens = JsonText.Int(body["max_completion_tokens"]) ?? JsonText.Int(body["max_tokens"]),
            PromptText = prompt.ToString(),
        };
    }

    /// <param name="body">The request body.</param>
    /// <param name="conversation">The whole input when the request continues a stored response (<c>previous_response_id</c>), earlier turns first; else <see langword="null"/> and the body's own <c>input</c> is read.</param>
    public static ParsedBody ReadResponses(JsonObject body, JsonArray? conversation = null)
    {
        // The Responses API validates in its newer style: the parameter is named and the code says what is wrong.
        var model = JsonText.String(body["model"]);
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new BadRequestException(400, "Missing required parameter: 'model'.", "model", code: "missing_required_parameter");
        }

        string? lastUser = null;
        var prompt = new StringBuilder();
        switch (conversation ?? body["input"])
        {
            case JsonValue value when value.TryGetValue<string>(out var text):
                lastUser = text;
                JsonText.AppendLine(prompt, text);
                break;
            case JsonArray items:
                foreach (var item in items.OfType<JsonObject>())
                {
                    var text = JsonText.ContentText(item["content"]) ?? JsonText.String(item["output"]) ??
                        JsonText.String(item["arguments"]);
                    if (JsonText.String(item["role"]) == "user")
                    {
                        lastUser = text;
                    }

                    JsonText.AppendLine(prompt, text);
                }

                break;
            case null:
                throw new BadRequestException(400, "Missing required parameter: 'input'.", "input", code: "missing_required_parameter");
            default:
                throw new BadRequestException(400, "Invalid type for 'input': expected a string or an array.", "input", code: "invalid_type");
        }

        var instructions = JsonText.String(body["instructions"]);
        JsonText.AppendLine(prompt, instructions);
        var tools = ReadTools(body["tools"], nested: false);
        var (forced, required) = ReadToolChoice(body["tool_choice"], nested: false);
        var format = ReadOutputFormat(JsonText.Field(body["text"], "format"), "text.format", nested: false);
        if (format.Json && format.Schema is null && !MentionsJson(prompt))
        {
            throw new BadRequestException(400, "Response input messages must contain the word 'json' in some form to use 'text.format' of type 'json_object'.", "input");
        }

        AppendTools(prompt, tools);
        var topLogprobs = ReadRange(body["top_logprobs"], "top_logprobs", 0, MaxTopLogprobs);
        var includesLogprobs = body["include"] is JsonArray include && include.Any(i => JsonText.String(i) == "message.output_text.logprobs");
        return new ParsedBody
        {
            Model = model,
            Stream = JsonText.Bool(body["stream"]),
            OutputSchema = format.Schema,
            IsOutputSchemaStrict = format.Strict,
            RequiresJsonOutput = format.Json,
            TopLogprobs = includesLogprobs ? topLogprobs ?? 0 : null,
            LastUserMessage = lastUser,
            SystemPrompt = instructions,
            Tools = tools,
            ForcedToolName = forced,
            RequiresToolCall = required,
            MaxOutputTokens = JsonText.Int(body["max_output_tokens"]),
            PromptText = prompt.ToString(),
        };
    }

    public static ParsedBody ReadEmbeddings(JsonObject body)
    {
        var model = JsonText.RequireModel(body);
        var inputs = new List<string>();
        switch (body["input"])
        {
            case JsonValue value when value.TryGetValue<string>(out var text):
                inputs.Add(text);
                break;
            case JsonArray array when array.Count > 0:
                // An array is either strings, one token array, or an array of token arrays.
                if (array.All(n => n is JsonValue v && v.TryGetValue<int>(out _)))
                {
                    inputs.Add(string.Join(' ', array));
                    break;
                }

                foreach (var item in array)
                {
                    inputs.Add(JsonText.String(item) ?? item?.ToJsonString() ?? "");
                }

                break;
            default:
                throw new BadRequestException(400, "'input' is a required property: a string or a non-empty array.", "input");
        }

        var format = JsonText.String(body["encoding_format"]);
        if (format is not (null or "float" or "base64"))
        {
            throw new BadRequestException(400, $"Invalid value for 'encoding_format': '{format}'. Supported values are: 'float' and 'base64'.", "encoding_format");
        }

        if (body["dimensions"] is { } dimensions && JsonText.Int(dimensions) is not (>= 1 and <= MaxEmbeddingDimensions))
        {
            // Real models cap dimensions too (3072 for text-embedding-3-large); the cap keeps one request from
            // making the fake build a gigabyte of floats.
            throw new BadRequestException(400, $"Invalid 'dimensions': {dimensions.ToJsonString()}. Expected an integer from 1 to {MaxEmbeddingDimensions}.", "dimensions");
        }

        return new ParsedBody { Model = model, EmbeddingInputs = inputs, PromptText = string.Join('\n', inputs) };
    }

    /// <summary>
    /// Reads an output format: Chat's <c>response_format</c> nests the schema (<c>{"type":"json_schema","json_schema":{name,schema,strict}}</c>),
    /// the Responses API's <c>text.format</c> does not (<c>{"type":"json_schema",name,schema,strict}</c>).
    /// </summary>
    private static (JsonNode? Schema, bool Strict, bool Json) ReadOutputFormat(JsonNode? node, string param, bool nested)
    {
        if (node is null)
        {
            return (null, false, false);
        }

        switch (JsonText.String(JsonText.Field(node, "type")))
        {
            case "text":
                return (null, false, false);
            case "json_object":
                return (null, false, true);
            case "json_schema":
                var definition = nested ? JsonText.Field(node, "json_schema") : node;
                if (definition is not JsonObject)
                {
                    throw new BadRequestException(400, $"Missing required parameter: '{param}.json_schema'.", $"{param}.json_schema");
                }

                var name = JsonText.String(definition["name"]);
                if (string.IsNullOrEmpty(name))
                {
                    var where = nested ? $"{param}.json_schema.name" : $"{param}.name";
                    throw new BadRequestException(400, $"Missing required parameter: '{where}'.", where);
                }

                var schema = definition["schema"]?.DeepClone() ?? new JsonObject();
                var strict = JsonText.Bool(definition["strict"]);
                if (strict && StrictSchemaRules.FirstProblem(schema) is { } problem)
                {
                    throw new BadRequestException(400, $"Invalid schema for response_format '{name}': {problem}", nested ? param : $"{param}.schema");
                }

                return (schema, strict, true);
            default:
                throw new BadRequestException(400, $"Invalid value: '{JsonText.String(JsonText.Field(node, "type"))}'. Supported values are: 'text', 'json_object', and 'json_schema'.", $"{param}.type");
        }
    }

    /// <summary>Whether the conversation (tool definitions not included) says "json", as <c>json_object</c> mode requires.</summary>
    private static bool MentionsJson(StringBuilder prompt) => prompt.ToString().Contains("json", StringComparison.OrdinalIgnoreCase);

    /// <summary>An optional whole number within the API's bounds, or a 400 in OpenAI's words.</summary>
    private static int? ReadRange(JsonNode? node, string param, int min, int max)
    {
        if (node is null)
        {
            return null;
        }

        var value = JsonText.Int(node) ?? throw new BadRequestException(400, $"Invalid type for '{param}': expected an integer, but got {node.ToJsonString()} instead.", param);
        return value < min
            ? throw new BadRequestException(400, $"Invalid '{param}': integer below minimum value. Expected a value >= {min}, but got {value} instead.", param)
            : value > max
                ? throw new BadRequestException(400, $"Invalid '{param}': integer above maximum value. Expected a value <= {max}, but got {value} instead.", param)
                : value;
    }

    private static List<FakeTool> ReadTools(JsonNode? node, bool nested)
    {
        var tools = new List<FakeTool>();
        if (node is not JsonArray array)
        {
            return tools;
        }

        foreach (var tool in array.OfType<JsonObject>())
        {
            // Chat nests the function ({"type":"function","function":{name,parameters}}); Responses does not.
            var function = nested ? tool["function"] as JsonObject : tool;
            var name = JsonText.String(function?["name"]);
            if (name is not null)
            {
                tools.Add(new FakeTool(name, function?["parameters"]?.DeepClone()));
            }
        }

        return tools;
    }

    private static (string? Forced, bool Required) ReadToolChoice(JsonNode? node, bool nested) => node switch
    {
        JsonValue v when JsonText.String(v) == "required" => (null, true),
        JsonObject o => (JsonText.String(nested ? JsonText.Field(o["function"], "name") : o["name"]), false),
        _ => (null, false),
    };

    private static void AppendTools(StringBuilder prompt, List<FakeTool> tools)
    {
        foreach (var tool in tools)
        {
            JsonText.AppendLine(prompt, tool.Name);
            JsonText.AppendLine(prompt, tool.Parameters?.ToJsonString());
        }
    }
}
