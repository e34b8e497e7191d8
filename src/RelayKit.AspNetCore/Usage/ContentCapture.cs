using System.Text;
using System.Text.Json;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The prompt and completion text a usage record keeps when <see cref="UsageOptions.RecordContent"/> is on. Nothing here
/// runs when it is off. The prompt is read as readable text, not JSON: one paragraph per message,
/// <c>role: text</c>, in the caller's order (system or instructions first), with each part's text as it was sent, a
/// tool call as <c>name(arguments)</c>, a tool result as its text, and an image, file, audio or document as
/// <c>[image]</c> and so on, never its bytes. Embeddings input is its strings, one a line.
/// </summary>
internal static class ContentCapture
{
    /// <summary>
    /// Read past <see cref="UsageOptions.MaxContentLength"/> by this many chars: the recorder redacts secrets before it
    /// cuts the text to length, so a key that straddles the cut is still whole when the scrubber looks for it.
    /// </summary>
    internal const int ScrubMargin = 4096;

    /// <summary>How many chars of prompt or completion to collect for <paramref name="options"/>.</summary>
    public static int Chars(UsageOptions options) => options.MaxContentLength > int.MaxValue - ScrubMargin ? int.MaxValue : options.MaxContentLength + ScrubMargin;

    /// <summary>The request's prompt as text, at most <paramref name="chars"/> chars; null for a request without a body.</summary>
    public static string? PromptOf(RelayRequestContext context, int chars)
    {
        if (context.Body is not { } body || body.Root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var text = new PromptWriter(chars);
        var root = body.Root;
        var format = context.Operation.PromptFormat;
        if (format == PromptFormat.AnthropicMessages)
        {
            text.Message("system", Property(root, "system"));
            text.Messages(Property(root, "messages"));
        }
        else if (format == PromptFormat.OpenAIResponses)
        {
            text.Message("system", Property(root, "instructions"));
            if (Property(root, "input") is { ValueKind: JsonValueKind.String } input)
            {
                text.Message("user", input);
            }
            else
            {
                text.Messages(Property(root, "input"));
            }
        }
        else if (format == PromptFormat.OpenAIEmbeddings)
        {
            text.Embeddings(Property(root, "input"));
        }
        else
        {
            text.Messages(Property(root, "messages"));
        }

        return text.ToString();
    }

    private static JsonElement Property(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) ? value : default;

    private static string? String(JsonElement obj, string name) =>
        Property(obj, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    /// <summary>Text written up to a length, and no further: a prompt of megabytes costs only what is kept.</summary>
    private sealed class PromptWriter(int chars)
    {
        private readonly StringBuilder _text = new();

        private bool Full => _text.Length >= chars;

        public void Messages(JsonElement messages)
        {
            if (messages.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var message in messages.EnumerateArray())
            {
                if (Full)
                {
                    return;
                }

                switch (String(message, "type"))
                {
                    // Responses input items that are not messages.
                    case "function_call":
                        Paragraph("assistant", $"{String(message, "name")}({String(message, "arguments")})");
                        break;
                    case "function_call_output":
                        Message("tool", Property(message, "output"));
                        break;
                    default:
                        Message(String(message, "role") ?? "user", Property(message, "content"));
                        ToolCalls(message);
                        break;
                }
            }
        }

        public void Message(string role, JsonElement content)
        {
            if (content.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null || Full)
            {
                return;
            }

            var part = new StringBuilder();
            Content(content, part);
            Paragraph(role, part.ToString());
        }

        public void Embeddings(JsonElement input)
        {
            if (input.ValueKind == JsonValueKind.String)
            {
                Append(input.GetString());
                return;
            }

            if (input.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var item in input.EnumerateArray())
            {
                if (Full)
                {
                    return;
                }

                if (_text.Length > 0)
                {
                    Append("\n");
                }

                Append(item.ValueKind == JsonValueKind.String ? item.GetString() : "[tokens]");
            }
        }

        public override string ToString() => _text.Length <= chars ? _text.ToString() : _text.ToString(0, chars);

        private void ToolCalls(JsonElement message)
        {
            if (Property(message, "tool_calls") is not { ValueKind: JsonValueKind.Array } calls)
            {
                return;
            }

            foreach (var call in calls.EnumerateArray())
            {
                var function = Property(call, "function");
                Paragraph("assistant", $"{String(function, "name")}({String(function, "arguments")})");
            }
        }

        private void Paragraph(string role, string text)
        {
            if (Full)
            {
                return;
            }

            if (_text.Length > 0)
            {
                Append("\n\n");
            }

            Append(role);
            Append(": ");
            Append(text);
        }

        /// <summary>A message's content: a string, or parts (OpenAI and Anthropic shapes alike), each part's text in order.</summary>
        private void Content(JsonElement content, StringBuilder part)
        {
            if (part.Length >= chars)
            {
                return;
            }

            switch (content.ValueKind)
            {
                case JsonValueKind.String:
                    part.Append(content.GetString());
                    return;
                case JsonValueKind.Array:
                    foreach (var item in content.EnumerateArray())
                    {
                        if (part.Length > 0 && part[^1] != '\n')
                        {
                            part.Append('\n');
                        }

                        Content(item, part);
                    }

                    return;
                case JsonValueKind.Object:
                    Part(content, part);
                    return;
            }
        }

        private void Part(JsonElement item, StringBuilder part)
        {
            var type = String(item, "type");
            switch (type)
            {
                case "image_url" or "input_image" or "image":
                    part.Append("[image]");
                    return;
                case "input_audio":
                    part.Append("[audio]");
                    return;
                case "file" or "input_file":
                    part.Append("[file]");
                    return;
                case "document":
                    part.Append("[document]");
                    return;
                case "tool_use" or "server_tool_use":
                    part.Append(String(item, "name")).Append('(');
                    if (Property(item, "input") is { ValueKind: not JsonValueKind.Undefined } input)
                    {
                        part.Append(input.GetRawText());
                    }

                    part.Append(')');
                    return;
                case "tool_result":
                    Content(Property(item, "content"), part);
                    return;
                case "thinking":
                    part.Append(String(item, "thinking"));
                    return;
            }

            if (String(item, "text") is { } text)
            {
                part.Append(text);
            }
            else if (Property(item, "content") is { ValueKind: not JsonValueKind.Undefined } nested)
            {
                Content(nested, part);
            }
        }

        private void Append(string? text)
        {
            if (text is not null && !Full)
            {
                _text.Append(text.AsSpan(0, Math.Min(text.Length, chars - _text.Length)));
            }
        }
    }
}
