using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;
using RelayKit.AspNetCore.Pricing;
using RelayKit.Tokens;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// The most a request can cost before it is sent: its prompt counted with a real tokenizer (scaled
/// by a margin when the model's own tokenizer is not available) at the dearest prompt price, plus
/// its output limit at the output price. The relay reserves this amount, so that no response can
/// cost more than the caller had.
/// </summary>
/// <remarks>
/// The body is read as the <see cref="JsonElement"/> the relay parsed it into, not as a node tree: a tree
/// costs an object per property and value on every request. A JSON <c>null</c> counts as nothing, as a
/// missing property does (a node tree read both as no node).
/// </remarks>
internal sealed class WorstCaseEstimator
{
    // Escaping non-ASCII as \uXXXX would inflate the count of non-English schemas for nothing.
    private static readonly JsonWriterOptions CompactJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

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
    public CostEstimate Estimate(JsonElement body, PromptFormat format, string model, ModelPrice price, int? modelOutputCap) =>
        Estimate(body, format, model, price, modelOutputCap, memo: null);

    /// <summary>
    /// The worst-case cost of the request's body sent to <paramref name="model"/>, counting its prompt once per
    /// request and model (<see cref="RelayRequestContext.PromptTokenCounts"/>) however many steps ask.
    /// </summary>
    public CostEstimate Estimate(RelayRequestContext context, PromptFormat format, string model, ModelPrice price, int? modelOutputCap) =>
        Estimate(context.Body!.Root, format, model, price, modelOutputCap, context.PromptTokenCounts);

    /// <summary>
    /// A lower bound of <see cref="Estimate(RelayRequestContext, PromptFormat, string, ModelPrice, int?)"/>, found without
    /// tokenizing: the same walk over the prompt with the same allowances, but each text counted as the fewest tokens its
    /// UTF-8 bytes can be (<see cref="PromptTokenCounter.LongestTokenBytes"/> bytes a token), and the same output limit. Its time is
    /// linear in the body's size with a small constant (no tokenizer pass), so budget admission refuses a prompt that even
    /// this bound cannot pay for before it spends a tokenizer pass on it.
    /// </summary>
    public CostEstimate LowerBound(RelayRequestContext context, PromptFormat format, string model, ModelPrice price, int? modelOutputCap) =>
        LowerBound(context.Body!.Root, format, model, price, modelOutputCap);

    /// <summary>A lower bound of <see cref="Estimate(JsonElement, PromptFormat, string, ModelPrice, int?)"/>, found without tokenizing.</summary>
    public CostEstimate LowerBound(JsonElement body, PromptFormat format, string model, ModelPrice price, int? modelOutputCap)
    {
        var request = Root(body);
        var (_, exact) = _counter.For(model);
        var count = CountPrompt(request, format, tokenizer: null, PromptTokenCounter.LongestTokenBytes);
        return Price(request, format, count, exact, price, modelOutputCap);
    }

    private CostEstimate Estimate(
        JsonElement request, PromptFormat format, string model, ModelPrice price, int? modelOutputCap, Dictionary<(PromptFormat, string), PromptTokenCount>? memo)
    {
        request = Root(request);
        var (tokenizer, exact) = _counter.For(model);
        PromptTokenCount count;
        if (memo is null)
        {
            count = CountPrompt(request, format, tokenizer, longestTokenBytes: 0);
        }
        else if (!memo.TryGetValue((format, model), out count))
        {
            count = CountPrompt(request, format, tokenizer, longestTokenBytes: 0);
            memo[(format, model)] = count;
        }

        return Price(request, format, count, exact, price, modelOutputCap);
    }

    private static JsonElement Root(JsonElement request) =>
        request.ValueKind == JsonValueKind.Object ? request : throw new ArgumentException("A request body is a JSON object.", nameof(request));

    private CostEstimate Price(JsonElement request, PromptFormat format, PromptTokenCount count, bool exact, ModelPrice price, int? modelOutputCap)
    {
        ArgumentNullException.ThrowIfNull(price);
        var promptTokens = exact
            ? count.Tokens
            : (long)Math.Ceiling(count.Tokens * _options.ApproximateTokenizerMargin);

        var (outputTokens, fromRequest) = OutputLimit(request, format, modelOutputCap);
        var cost = TokenCost.WorstCase(price, promptTokens, outputTokens);
        return new CostEstimate(promptTokens, outputTokens, cost, exact, fromRequest, count.Uncounted);
    }

    /// <summary>The prompt's tokens; with no <paramref name="tokenizer"/>, a lower bound from its texts' sizes in bytes.</summary>
    private PromptTokenCount CountPrompt(JsonElement request, PromptFormat format, Tokenizer? tokenizer, int longestTokenBytes)
    {
        using var prompt = new PromptCount(tokenizer, longestTokenBytes, _options);
        var uncounted = false;

        switch (format)
        {
            case PromptFormat.OpenAIChat:
                prompt.Messages(Property(request, "messages"));
                prompt.Tools(Property(request, "tools"));
                prompt.Tools(Property(request, "functions"));
                prompt.Json(Property(request, "response_format"));
                prompt.Json(Property(request, "tool_choice"));
                prompt.Json(Property(request, "prediction"));
                uncounted = ReferencesFile(Property(request, "messages"));
                break;

            case PromptFormat.OpenAIResponses:
                prompt.Messages(Property(request, "input"));
                prompt.Content(Property(request, "instructions"));
                prompt.Tools(Property(request, "tools"));
                prompt.Json(Property(request, "text"));
                prompt.Json(Property(request, "tool_choice"));
                uncounted = !IsNone(Property(request, "previous_response_id")) || !IsNone(Property(request, "conversation"))
                    || !IsNone(Property(request, "prompt")) || ReferencesFile(Property(request, "input"));
                break;

            case PromptFormat.OpenAIEmbeddings:
                prompt.EmbeddingInput(Property(request, "input"));
                break;

            case PromptFormat.AnthropicMessages:
                prompt.Content(Property(request, "system"));
                prompt.Messages(Property(request, "messages"));
                if (Property(request, "tools") is { ValueKind: JsonValueKind.Array } tools && tools.GetArrayLength() > 0)
                {
                    prompt.Tools(tools);
                    prompt.Add(_options.AnthropicToolSystemPromptTokens);
                }

                prompt.Json(Property(request, "tool_choice"));
                uncounted = ReferencesFile(Property(request, "messages"));
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }

        return new PromptTokenCount(prompt.Tokens, uncounted);
    }

    private (long Tokens, bool FromRequest) OutputLimit(JsonElement request, PromptFormat format, int? modelOutputCap)
    {
        if (format == PromptFormat.OpenAIEmbeddings)
        {
            return (0, true);
        }

        var requested = format switch
        {
            // A body with both: OpenAI honours max_completion_tokens, OpenAI-compatible servers that know only max_tokens
            // honour that one, so the worst case is the larger.
            PromptFormat.OpenAIChat => Larger(Integer(Property(request, "max_completion_tokens")), Integer(Property(request, "max_tokens"))),
            PromptFormat.OpenAIResponses => Integer(Property(request, "max_output_tokens")),
            _ => Integer(Property(request, "max_tokens")),
        };

        // Chat completions may ask for n choices, each up to the limit.
        var choices = format == PromptFormat.OpenAIChat ? Math.Max(1, Integer(Property(request, "n")) ?? 1) : 1;
        var limit = Math.Max(0, requested ?? modelOutputCap ?? _options.DefaultOutputCap);

        // Saturating: a product past long's range is a worst case no budget or limit holds, never a wrapped small one.
        return (limit > long.MaxValue / choices ? long.MaxValue : limit * choices, requested is not null);
    }

    private static long? Larger(long? a, long? b) => a is { } x && b is { } y ? Math.Max(x, y) : a ?? b;

    /// <summary>The value of <paramref name="name"/> in <paramref name="obj"/>, or <c>default</c> (<see cref="JsonValueKind.Undefined"/>) when there is none.</summary>
    private static JsonElement Property(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) ? value : default;

    /// <summary>Whether a value is missing or JSON <c>null</c>; the rules count neither.</summary>
    private static bool IsNone(JsonElement value) => value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;

    /// <summary>
    /// A number rounded up and held to <see cref="long"/>'s range: a caller's <c>1e20</c> or <c>1e400</c> (valid JSON)
    /// reads as <see cref="long.MaxValue"/>, a worst case that no budget or limit admits, rather than overflowing.
    /// Read as a double, which takes any JSON number (an infinity past its range) and is exact for every whole number
    /// a real limit can be. Null for anything but a number.
    /// </summary>
    private static long? Integer(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            return null;
        }

        var number = Math.Ceiling(double.Parse(JsonMarshal.GetRawUtf8Value(value), NumberStyles.Float, CultureInfo.InvariantCulture));
        return number >= long.MaxValue ? long.MaxValue : number <= long.MinValue ? long.MinValue : (long)number;
    }

    private static bool ReferencesFile(JsonElement node)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Object:
                // A file_id of any value, null included, names a file.
                if (node.TryGetProperty("file_id", out _)
                    || (node.TryGetProperty("source", out var source) && source.ValueKind == JsonValueKind.Object
                        && source.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("file"u8)))
                {
                    return true;
                }

                foreach (var property in node.EnumerateObject())
                {
                    if (ReferencesFile(property.Value))
                    {
                        return true;
                    }
                }

                return false;

            case JsonValueKind.Array:
                foreach (var item in node.EnumerateArray())
                {
                    if (ReferencesFile(item))
                    {
                        return true;
                    }
                }

                return false;

            default:
                return false;
        }
    }

    /// <summary>
    /// A running prompt-token count; without a tokenizer, a running lower bound of it: every text counts
    /// <c>⌈bytes / longestTokenBytes⌉</c> instead of its tokens, every allowance the same.
    /// </summary>
    private sealed class PromptCount(Tokenizer? tokenizer, int longestTokenBytes, BudgetEstimateOptions options) : IDisposable
    {
        // Text up to this many chars is transcoded on the stack; longer text into a pooled array.
        private const int StackChars = 256;

        // Where values counted as JSON text are written: made on the first such value, reused for the rest.
        private ArrayPoolBufferWriter<byte>? _json;
        private Utf8JsonWriter? _writer;

        public long Tokens { get; private set; }

        public void Add(long tokens) => Tokens += tokens;

        /// <summary>A message list, or a plain string (the responses API's <c>input</c> may be either).</summary>
        public void Messages(JsonElement messages)
        {
            if (messages.ValueKind == JsonValueKind.Array)
            {
                foreach (var message in messages.EnumerateArray())
                {
                    Tokens += options.MessageOverheadTokens;
                    Content(message);
                }

                Tokens += options.ReplyPrimingTokens;
            }
            else if (!IsNone(messages))
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
        public void Content(JsonElement node)
        {
            switch (node.ValueKind)
            {
                case JsonValueKind.Undefined or JsonValueKind.Null:
                    return;
                case JsonValueKind.Object when IsImage(node):
                    Tokens += options.ImageTokens;
                    return;
                case JsonValueKind.Object:
                    var toolUse = IsToolUse(node);
                    foreach (var property in node.EnumerateObject())
                    {
                        Tokens += Name(property) + 1;
                        if (toolUse && property.NameEquals("input"u8))
                        {
                            // The arguments of a tool call reach the model as JSON text.
                            Json(property.Value);
                        }
                        else
                        {
                            Content(property.Value);
                        }
                    }

                    return;
                case JsonValueKind.Array:
                    Tokens += 1;
                    foreach (var item in node.EnumerateArray())
                    {
                        Content(item);
                    }

                    return;
                case JsonValueKind.String:
                    Tokens += Text(node);
                    return;
                default:
                    // A number, true or false: its JSON text, which is ASCII.
                    Tokens += CountUtf8(JsonMarshal.GetRawUtf8Value(node));
                    return;
            }
        }

        /// <summary>Tool definitions, counted as their compact JSON plus a per-tool overhead.</summary>
        public void Tools(JsonElement tools)
        {
            if (tools.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var tool in tools.EnumerateArray())
            {
                Tokens += options.ToolOverheadTokens;
                Json(tool);
            }
        }

        /// <summary>A JSON value the provider renders into the prompt (schemas, tool choice).</summary>
        public void Json(JsonElement node)
        {
            if (IsNone(node))
            {
                return;
            }

            // JsonNode.ToJsonString(options) does no more than this: write the value with a Utf8JsonWriter and
            // decode the UTF-8. Written here, it writes into one pooled buffer and decodes without a string.
            _json ??= new ArrayPoolBufferWriter<byte>(1024);
            _json.Clear();
            _writer ??= new Utf8JsonWriter(_json, CompactJson);
            _writer.Reset();
            node.WriteTo(_writer);
            _writer.Flush();

            // ToJsonString decodes with Encoding.UTF8, which replaces invalid bytes should the document hold
            // any; decoding here replaces them the same way.
            Tokens += CountUtf8(_json.WrittenSpan);
        }

        /// <summary>Embeddings input: a string, strings, a token array or token arrays.</summary>
        public void EmbeddingInput(JsonElement input)
        {
            switch (input.ValueKind)
            {
                case JsonValueKind.Array when AllNumbers(input):
                    Tokens += input.GetArrayLength();
                    break;
                case JsonValueKind.Array:
                    foreach (var item in input.EnumerateArray())
                    {
                        EmbeddingInput(item);
                    }

                    break;
                case JsonValueKind.String:
                    Tokens += Text(input);
                    break;
                case JsonValueKind.Undefined or JsonValueKind.Null:
                    break;
                default:
                    Content(input);
                    break;
            }
        }

        public void Dispose()
        {
            _writer?.Dispose();
            _json?.Dispose();
        }

        /// <summary>The tokens of a string value, counted as the text it stands for.</summary>
        private int Text(JsonElement value)
        {
            // The raw value keeps its quotes.
            var raw = JsonMarshal.GetRawUtf8Value(value)[1..^1];
            if (tokenizer is null)
            {
                return FewestTokensOfEscaped(raw);
            }

            return TryCountPlain(raw, out var tokens) ? tokens : Count(value.GetString()!);
        }

        /// <summary>The tokens of a property's name, counted as the text it stands for.</summary>
        private int Name(JsonProperty property)
        {
            var raw = JsonMarshal.GetRawUtf8PropertyName(property);
            if (tokenizer is null)
            {
                return FewestTokensOfEscaped(raw);
            }

            return TryCountPlain(raw, out var tokens) ? tokens : Count(property.Name);
        }

        /// <summary>
        /// The fewest tokens raw JSON string text can be. Its text is at least the raw bytes less 5 per backslash: an
        /// escape of 2 to 6 raw bytes (<c>\n</c>, <c>\u00e9</c>) stands for 1 to 3 bytes of UTF-8, a pair of <c>\u</c>
        /// escapes (12) for 4, and a lone surrogate for U+FFFD (3); a backslash that is itself escaped is counted twice,
        /// which only lowers the bound further. Raw bytes that are not UTF-8 become U+FFFD (3 bytes each) when decoded.
        /// </summary>
        private int FewestTokensOfEscaped(ReadOnlySpan<byte> raw) =>
            FewestTokens(Math.Max(0, raw.Length - (5 * raw.Count((byte)'\\'))));

        /// <summary><c>⌈bytes / longestTokenBytes⌉</c>: every token stands for at most the longest entry's bytes.</summary>
        private int FewestTokens(int utf8Bytes) =>
            utf8Bytes <= 0 ? 0 : (int)(((long)utf8Bytes + longestTokenBytes - 1) / longestTokenBytes);

        /// <summary>
        /// Counts raw JSON string text in place when it is the string itself: no escapes, valid UTF-8. False otherwise,
        /// and the caller reads the string the usual way (GetString unescapes, and rejects invalid UTF-8).
        /// </summary>
        private bool TryCountPlain(ReadOnlySpan<byte> raw, out int tokens)
        {
            tokens = 0;
            return !raw.Contains((byte)'\\') && TryCountUtf8(raw, replaceInvalid: false, out tokens);
        }

        private int Count(string text) => BoundedTokenCount.Count(tokenizer!, text);

        /// <summary>The tokens of UTF-8 text, invalid bytes counted as U+FFFD.</summary>
        private int CountUtf8(ReadOnlySpan<byte> utf8)
        {
            if (tokenizer is null)
            {
                // An invalid byte decodes to U+FFFD, three bytes: the text is never shorter than these bytes.
                return FewestTokens(utf8.Length);
            }

            TryCountUtf8(utf8, replaceInvalid: true, out var tokens);
            return tokens;
        }

        /// <summary>
        /// The tokens of UTF-8 text, decoded into a stack or pooled buffer rather than a string: the tokenizer
        /// counts chars in place, so a value costs no allocation. False when the text is not valid UTF-8 and
        /// <paramref name="replaceInvalid"/> is false.
        /// </summary>
        private bool TryCountUtf8(ReadOnlySpan<byte> utf8, bool replaceInvalid, out int tokens)
        {
            tokens = 0;
            if (utf8.IsEmpty)
            {
                return true;
            }

            // UTF-8 takes at least one byte for each UTF-16 char (an invalid byte becomes one U+FFFD), so
            // as many chars as bytes always suffice.
            char[]? rented = null;
            var chars = utf8.Length <= StackChars ? stackalloc char[StackChars] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
            try
            {
                if (Utf8.ToUtf16(utf8, chars, out _, out var written, replaceInvalid) != OperationStatus.Done)
                {
                    return false;
                }

                tokens = BoundedTokenCount.Count(tokenizer!, chars[..written]);
                return true;
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<char>.Shared.Return(rented);
                }
            }
        }

        private static bool AllNumbers(JsonElement array)
        {
            foreach (var item in array.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number)
                {
                    return false;
                }
            }

            return true;
        }

        private static bool IsToolUse(JsonElement part) =>
            part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            && (type.ValueEquals("tool_use"u8) || type.ValueEquals("server_tool_use"u8));

        private static bool IsImage(JsonElement part) =>
            part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            && (type.ValueEquals("image_url"u8) || type.ValueEquals("input_image"u8) || type.ValueEquals("image"u8));
    }
}
