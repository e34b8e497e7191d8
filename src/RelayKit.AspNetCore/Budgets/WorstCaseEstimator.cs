using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The most a request can cost before it is sent: its prompt counted with a real tokenizer (scaled
/// by a margin when the model's own tokenizer is not available) at the dearest prompt price, plus
/// its output limit at the output price. The relay reserves this amount, so that no response can
/// cost more than the caller had.
/// </summary>
internal sealed class WorstCaseEstimator
{
    private static readonly JsonSerializerOptions CompactJson = new()
    {
        // Escaping non-ASCII as \uXXXX would inflate the count of non-English schemas for nothing.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    private static readonly HashSet<string> ImagePartTypes = new(StringComparer.Ordinal) { "image_url", "input_image", "image" };

    private readonly PromptTokenCounter _counter;
    private readonly BudgetEstimateOptions _options;

    /// <summary>Creates the estimator.</summary>
    public WorstCaseEstimator(PromptTokenCounter counter, IOptions<BudgetEstimateOptions> options)
    {
        _counter = counter;
        _options = options.Value;
    }

    /// <summary>The worst-case cost of <paramref name="body"/> sent to <paramref name="model"/>.</summary>
    /// <param name="body">The request body as the client sent it.</param>
    /// <param name="format">Its wire format.</param>
    /// <param name="model">The upstream model the request goes to (its tokenizer is chosen by this name).</param>
    /// <param name="price">That model's price.</param>
    /// <param name="modelOutputCap">The model's configured or known output cap, if any.</param>
    public CostEstimate Estimate(JsonNode body, PromptFormat format, string model, ModelPrice price, int? modelOutputCap) =>
        Estimate(body, format, model, price, modelOutputCap, memo: null);

    /// <summary>
    /// The worst-case cost of the request's body sent to <paramref name="model"/>, counting its prompt once per
    /// request and model (<see cref="RelayRequestContext.PromptTokenCounts"/>) however many steps ask.
    /// </summary>
    public CostEstimate Estimate(RelayRequestContext context, PromptFormat format, string model, ModelPrice price, int? modelOutputCap) =>
        Estimate(context.Body!.Node, format, model, price, modelOutputCap, context.PromptTokenCounts);

    private CostEstimate Estimate(
        JsonNode body, PromptFormat format, string model, ModelPrice price, int? modelOutputCap, Dictionary<(PromptFormat, string), PromptTokenCount>? memo)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(price);
        if (body is not JsonObject request)
        {
            throw new ArgumentException("A request body is a JSON object.", nameof(body));
        }

        var (tokenizer, exact) = _counter.For(model);
        PromptTokenCount count;
        if (memo is null)
        {
            count = CountPrompt(request, format, tokenizer);
        }
        else if (!memo.TryGetValue((format, model), out count))
        {
            count = CountPrompt(request, format, tokenizer);
            memo[(format, model)] = count;
        }

        var promptTokens = exact
            ? count.Tokens
            : (long)Math.Ceiling(count.Tokens * _options.ApproximateTokenizerMargin);

        var (outputTokens, fromRequest) = OutputLimit(request, format, modelOutputCap);
        var cost = TokenCost.WorstCase(price, promptTokens, outputTokens);
        return new CostEstimate(promptTokens, outputTokens, cost, exact, fromRequest, count.Uncounted);
    }

    private PromptTokenCount CountPrompt(JsonObject request, PromptFormat format, Tokenizer tokenizer)
    {
        var prompt = new PromptCount(tokenizer, _options);
        var uncounted = false;

        switch (format)
        {
            case PromptFormat.OpenAIChat:
                prompt.Messages(request["messages"]);
                prompt.Tools(request["tools"]);
                prompt.Tools(request["functions"]);
                prompt.Json(request["response_format"]);
                prompt.Json(request["tool_choice"]);
                prompt.Json(request["prediction"]);
                uncounted = ReferencesFile(request["messages"]);
                break;

            case PromptFormat.OpenAIResponses:
                prompt.Messages(request["input"]);
                prompt.Content(request["instructions"]);
                prompt.Tools(request["tools"]);
                prompt.Json(request["text"]);
                prompt.Json(request["tool_choice"]);
                uncounted = request["previous_response_id"] is not null || request["conversation"] is not null
                    || request["prompt"] is not null || ReferencesFile(request["input"]);
                break;

            case PromptFormat.OpenAIEmbeddings:
                prompt.EmbeddingInput(request["input"]);
                break;

            case PromptFormat.AnthropicMessages:
                prompt.Content(request["system"]);
                prompt.Messages(request["messages"]);
                if (request["tools"] is JsonArray { Count: > 0 } tools)
                {
                    prompt.Tools(tools);
                    prompt.Add(_options.AnthropicToolSystemPromptTokens);
                }

                prompt.Json(request["tool_choice"]);
                uncounted = ReferencesFile(request["messages"]);
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }

        return new PromptTokenCount(prompt.Tokens, uncounted);
    }

    private (long Tokens, bool FromRequest) OutputLimit(JsonObject request, PromptFormat format, int? modelOutputCap)
    {
        if (format == PromptFormat.OpenAIEmbeddings)
        {
            return (0, true);
        }

        var requested = format switch
        {
            PromptFormat.OpenAIChat => Integer(request["max_completion_tokens"]) ?? Integer(request["max_tokens"]),
            PromptFormat.OpenAIResponses => Integer(request["max_output_tokens"]),
            _ => Integer(request["max_tokens"]),
        };

        // Chat completions may ask for n choices, each up to the limit.
        var choices = format == PromptFormat.OpenAIChat ? Math.Max(1, Integer(request["n"]) ?? 1) : 1;
        var limit = requested ?? modelOutputCap ?? _options.DefaultOutputCap;
        return (Math.Max(0, limit) * choices, requested is not null);
    }

    private static long? Integer(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number
            && decimal.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? (long)Math.Ceiling(number)
            : null;

    private static bool ReferencesFile(JsonNode? node) => node switch
    {
        JsonObject obj => obj.ContainsKey("file_id")
            || (obj["source"] is JsonObject { } source && source["type"]?.GetValueKind() == JsonValueKind.String
                && (string?)source["type"] == "file")
            || obj.Any(p => ReferencesFile(p.Value)),
        JsonArray array => array.Any(ReferencesFile),
        _ => false,
    };

    /// <summary>A running prompt-token count.</summary>
    private sealed class PromptCount(Tokenizer tokenizer, BudgetEstimateOptions options)
    {
        public long Tokens { get; private set; }

        public void Add(long tokens) => Tokens += tokens;

        /// <summary>A message list, or a plain string (the responses API's <c>input</c> may be either).</summary>
        public void Messages(JsonNode? messages)
        {
            if (messages is JsonArray array)
            {
                foreach (var message in array)
                {
                    Tokens += options.MessageOverheadTokens;
                    Content(message);
                }

                Tokens += options.ReplyPrimingTokens;
            }
            else if (messages is not null)
            {
                Tokens += options.MessageOverheadTokens + options.ReplyPrimingTokens;
                Content(messages);
            }
        }

        /// <summary>
        /// Message content of any shape: every string and property name counted (names of tool-call
        /// arguments are prompt text too), one token per property and array for punctuation, and a
        /// fixed allowance instead of an image's bytes.
        /// </summary>
        public void Content(JsonNode? node)
        {
            switch (node)
            {
                case null:
                    return;
                case JsonObject obj when IsImage(obj):
                    Tokens += options.ImageTokens;
                    return;
                case JsonObject obj:
                    var toolUse = IsToolUse(obj);
                    foreach (var (name, value) in obj)
                    {
                        Tokens += Count(name) + 1;
                        if (toolUse && name == "input")
                        {
                            // The arguments of a tool call reach the model as JSON text.
                            Json(value);
                        }
                        else
                        {
                            Content(value);
                        }
                    }

                    return;
                case JsonArray array:
                    Tokens += 1;
                    foreach (var item in array)
                    {
                        Content(item);
                    }

                    return;
                case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                    Tokens += Count(value.GetValue<string>());
                    return;
                default:
                    Tokens += Count(node.ToJsonString());
                    return;
            }
        }

        /// <summary>Tool definitions, counted as their compact JSON plus a per-tool overhead.</summary>
        public void Tools(JsonNode? tools)
        {
            if (tools is not JsonArray array)
            {
                return;
            }

            foreach (var tool in array)
            {
                Tokens += options.ToolOverheadTokens;
                Json(tool);
            }
        }

        /// <summary>A JSON value the provider renders into the prompt (schemas, tool choice).</summary>
        public void Json(JsonNode? node)
        {
            if (node is not null)
            {
                Tokens += Count(node.ToJsonString(CompactJson));
            }
        }

        /// <summary>Embeddings input: a string, strings, a token array or token arrays.</summary>
        public void EmbeddingInput(JsonNode? input)
        {
            switch (input)
            {
                case JsonArray array when array.All(item => item is JsonValue v && v.GetValueKind() == JsonValueKind.Number):
                    Tokens += array.Count;
                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        EmbeddingInput(item);
                    }

                    break;
                case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                    Tokens += Count(value.GetValue<string>());
                    break;
                case null:
                    break;
                default:
                    Content(input);
                    break;
            }
        }

        private int Count(string text) => text.Length == 0 ? 0 : tokenizer.CountTokens(text);

        private static bool IsToolUse(JsonObject part) =>
            part["type"] is JsonValue type && type.GetValueKind() == JsonValueKind.String
            && type.GetValue<string>() is "tool_use" or "server_tool_use";

        private static bool IsImage(JsonObject part) =>
            part["type"] is JsonValue type && type.GetValueKind() == JsonValueKind.String
            && ImagePartTypes.Contains(type.GetValue<string>());
    }
}
