using System.Buffers;
using System.Text;
using System.Text.Json;
using CommunityToolkit.HighPerformance.Buffers;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Metering;

/// <summary>
/// Step 6 of the request path: reads the upstream's own response as it passes (SSE events or a JSON
/// body) and fills the Meter section of the <see cref="RelayRequestContext"/>: the usage the upstream
/// reported, the output tokens actually delivered (for a stream whose usage never arrived), when the
/// first byte came and which model answered. It never holds a chunk back. In the relay it is a stage of
/// <see cref="ResponseChain"/>, which splits the stream once and hands it each event (<see cref="OnEvent"/>) with the
/// chain's one parse of it; <see cref="OnBodyChunk"/> splits on its own, for a meter used alone.
/// </summary>
internal sealed class UsageMeter : ISseBlockSink
{
    /// <summary>
    /// A non-streamed body is copied (it is passed on at once) up to this size and parsed at its end;
    /// a larger one is not metered from its body. Embedding answers are the largest relayed JSON bodies.
    /// </summary>
    internal const int JsonBodyCap = 32 * 1024 * 1024;

    /// <summary>
    /// The most tokens one count of a reported usage may hold (100 million: far past any model's context and output,
    /// and small enough that no price, sum or store column overflows). A larger count is not a real request's.
    /// </summary>
    internal const long MaxReportedTokens = 100_000_000;

    private readonly RelayRequestContext _context;
    private RelayOperation _operation;
    private readonly TimeProvider _time;
    private Func<string, int> _countTokens;

    // Chars of the answer's text kept for the usage record (RecordContent), or null: then no text is kept for it.
    private readonly int? _contentChars;

    // Made only when the meter is fed chunks of a stream itself (OnBodyChunk), not by the chain, which splits once for all.
    private SseEventSplitter? _splitter;
    private StringBuilder? _delivered;

    // Pooled: a growing ArrayBufferWriter per answer was the meter's largest allocation. Given back when the
    // response ends (or the body passes the cap).
    private ArrayPoolBufferWriter<byte>? _json;
    private bool _streamed;
    private bool _jsonOverCap;
    private bool _modelSeen;
    private ArrayPoolBufferWriter<byte>? _deferred;
    private ArrayPoolBufferWriter<int>? _deferredLengths;

    // Anthropic streams report usage in two parts: message_start (prompt) and message_delta (cumulative output).
    private long _anthropicInput;
    private long _anthropicCacheRead;
    private long _anthropicCacheWrite;
    private bool _anthropicStarted;

    // The upstream reported a count that cannot be true: its usage is ignored for the whole response.
    private bool _usageRejected;

    /// <summary>Creates a meter for one request.</summary>
    /// <param name="context">The request whose Meter section is filled.</param>
    /// <param name="time">The clock for <see cref="RelayRequestContext.FirstByteAt"/>.</param>
    /// <param name="countTokens">Counts output text with the tokenizer the estimator uses for the upstream model.</param>
    /// <param name="contentChars">
    /// How many chars of the answer's text to keep in <see cref="RelayRequestContext.CompletionText"/>; null (the default,
    /// content recording off) keeps none and reads no more of the answer than metering needs.
    /// </param>
    public UsageMeter(RelayRequestContext context, TimeProvider time, Func<string, int> countTokens, int? contentChars = null)
    {
        _contentChars = contentChars;
        _context = context;
        _operation = context.UpstreamOperation;
        _time = time;
        _countTokens = countTokens;
    }

    /// <summary>
    /// The counter for an upstream model's tokenizer: set, the meter counts delivered output with the tokenizer of the
    /// upstream that answered (a fallback may be of another family than the first candidate the meter was made for).
    /// </summary>
    public Func<string, Func<string, int>>? CounterFor { get; init; }

    /// <summary>
    /// The usage read so far: the reported usage, else (an Anthropic stream between <c>message_start</c> and its
    /// <c>message_delta</c>) the prompt's part of it; null when none was reported or a count of it was absurd. A translated
    /// stream tells the caller this, so what the caller is told and what it is charged come from one reader.
    /// </summary>
    public TokenUsage? Usage => _context.ReportedUsage ?? _context.ReportedPromptUsage;

    /// <summary>The upstream answered with these status and headers.</summary>
    public void OnResponseStarted(HttpResponseMessage response)
    {
        // Read now, not at admission: a fallback upstream of the other format answers in that format, and is counted
        // with its own tokenizer.
        _operation = _context.UpstreamOperation;
        if (CounterFor is not null && _context.Upstream is { } answering)
        {
            _countTokens = CounterFor(answering.UpstreamModel);
        }

        _streamed = response.Content.Headers.ContentType?.MediaType is { } media
            && media.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);
        if (!_streamed)
        {
            _json = new ArrayPoolBufferWriter<byte>(response.Content.Headers.ContentLength is > 0 and <= JsonBodyCap and var length ? (int)length : 4096);
        }
    }

    /// <summary>A chunk of the upstream's body as it arrived, for a meter used alone: a stream is split here.</summary>
    public void OnBodyChunk(ReadOnlySpan<byte> chunk)
    {
        OnChunk(chunk);
        if (_streamed && !chunk.IsEmpty)
        {
            (_splitter ??= new SseEventSplitter()).Push(chunk, this);
        }
    }

    /// <summary>
    /// A chunk of the upstream's body as it arrived, before it is passed on: when the first byte came, and a JSON answer's
    /// bytes (read at its end). A stream's events come through <see cref="OnEvent"/>.
    /// </summary>
    public void OnChunk(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty)
        {
            return;
        }

        _context.FirstByteAt ??= _time.GetUtcNow();
        if (!_streamed && _json is not null && !_jsonOverCap)
        {
            if (_json.WrittenCount + chunk.Length > JsonBodyCap)
            {
                _jsonOverCap = true;
                _json.Dispose();
                _json = null;
                return;
            }

            _json.Write(chunk);
        }
    }

    /// <summary>
    /// The body ended: <paramref name="completed"/> is false when it was cut short. For an answer held whole,
    /// this comes once the upstream's body has fully arrived, before the response starts.
    /// </summary>
    public void OnResponseEnded(bool completed)
    {
        if (_streamed)
        {
            // A cut stream may still end with a complete last event that lacks its blank line.
            _splitter?.Complete(this);
            if (_context.ReportedUsage is null || _contentChars is not null)
            {
                // No usage seen: read the events put aside, for their text (and any usage written unusually). With
                // content recording on, their text is the completion the record keeps.
                ReplayDeferred();
            }

            _splitter?.Dispose();
            _splitter = null;
            _deferred?.Dispose();
            _deferredLengths?.Dispose();
            _deferred = null;
            _deferredLengths = null;
        }
        else if (_json is { } json)
        {
            if (json.WrittenCount > 0 && completed)
            {
                ReadJsonBody(json.WrittenMemory);
            }

            json.Dispose();
            _json = null;
        }

        // Counted only when the upstream reported no usage: it is what settles such a request. Tokenizing
        // every answer's text when the usage is known would cost as much as the rest of metering together.
        _context.DeliveredOutputTokens = _delivered is not { Length: > 0 } || _context.ReportedUsage is not null
            ? 0
            : _countTokens(_delivered.ToString());
        if (_contentChars is { } chars)
        {
            _context.CompletionText = _delivered is { } text ? text.ToString(0, Math.Min(text.Length, chars)) : "";
        }
    }

    void ISseBlockSink.OnBlock(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data, bool isEvent)
    {
        var item = new ResponseEvent(raw, name, data, isEvent);
        try
        {
            OnEvent(ref item);
        }
        finally
        {
            item.Dispose();
        }
    }

    /// <summary>One event of the upstream's stream, read from the chain's one parse of it when the meter needs its JSON.</summary>
    public void OnEvent(ref ResponseEvent item)
    {
        var data = item.Data;
        if (!item.IsEvent || data.IsEmpty || item.IsDone)
        {
            return;
        }

        if (_modelSeen && !UsageObject.MayBeIn(data.Span))
        {
            // Most events only carry text, which matters only if the usage never arrives: keep their bytes
            // (pooled) and parse them at the end in that case, rather than parse every event as it passes.
            _deferred ??= new ArrayPoolBufferWriter<byte>(4096);
            _deferredLengths ??= new ArrayPoolBufferWriter<int>(64);
            _deferred.Write(data.Span);
            _deferredLengths.Write([data.Length]);
            return;
        }

        if (item.TryGetObject(out var root))
        {
            ReadEventRoot(root);
        }
    }

    private void ReplayDeferred()
    {
        if (_deferred is null || _deferredLengths is null)
        {
            return;
        }

        var offset = 0;
        foreach (var length in _deferredLengths.WrittenSpan)
        {
            ReadEvent(_deferred.WrittenMemory.Slice(offset, length));
            offset += length;
        }
    }

    private void ReadEvent(ReadOnlyMemory<byte> data)
    {
        JsonDocument document;
        try
        {
            // An event put aside (OnEvent) is read only now, when no usage came: its bytes are the meter's own copy.
            document = JsonDocument.Parse(data);
        }
        catch (JsonException)
        {
            return;
        }

        using (document)
        {
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                ReadEventRoot(document.RootElement);
            }
        }
    }

    private void ReadEventRoot(JsonElement root)
    {
        if (_operation == RelayOperation.Messages)
        {
            ReadAnthropicEvent(root);
        }
        else if (_operation == RelayOperation.Responses)
        {
            ReadResponsesEvent(root);
        }
        else
        {
            ReadChatChunk(root);
        }
    }

    private void ReadChatChunk(JsonElement chunk)
    {
        ReadModel(chunk);
        if (TryGet(chunk, "choices", JsonValueKind.Array, out var choices))
        {
            foreach (var choice in choices.EnumerateArray())
            {
                if (TryGet(choice, "delta", JsonValueKind.Object, out var delta))
                {
                    AddChatMessageText(delta);
                }
            }
        }

        if (TryGet(chunk, "usage", JsonValueKind.Object, out var usage))
        {
            Report(OpenAIUsage(usage));
        }
    }

    private void ReadResponsesEvent(JsonElement item)
    {
        var type = String(item, "type");
        switch (type)
        {
            case "response.output_text.delta":
            case "response.function_call_arguments.delta":
            case "response.reasoning_summary_text.delta":
            case "response.refusal.delta":
                Deliver(String(item, "delta"));
                break;
            case "response.created":
            case "response.in_progress":
            case "response.completed":
            case "response.incomplete":
            case "response.failed":
                if (TryGet(item, "response", JsonValueKind.Object, out var response))
                {
                    ReadModel(response);
                    if (TryGet(response, "usage", JsonValueKind.Object, out var usage))
                    {
                        Report(OpenAIUsage(usage));
                    }
                }

                break;
        }
    }

    private void ReadAnthropicEvent(JsonElement item)
    {
        switch (String(item, "type"))
        {
            case "message_start" when TryGet(item, "message", JsonValueKind.Object, out var message):
                ReadModel(message);
                if (TryGet(message, "usage", JsonValueKind.Object, out var startUsage))
                {
                    _anthropicStarted = true;
                    _anthropicInput = Long(startUsage, "input_tokens");
                    _anthropicCacheRead = Long(startUsage, "cache_read_input_tokens");
                    _anthropicCacheWrite = Long(startUsage, "cache_creation_input_tokens");
                    if (startUsage.TryGetProperty("input_tokens", out _) && !_usageRejected)
                    {
                        _context.ReportedPromptUsage = TokenUsage.FromAnthropic(_anthropicInput, _anthropicCacheRead, _anthropicCacheWrite, 0);
                    }
                }

                break;
            case "content_block_start" when TryGet(item, "content_block", JsonValueKind.Object, out var block):
                Deliver(String(block, "text"));
                break;
            case "content_block_delta" when TryGet(item, "delta", JsonValueKind.Object, out var delta):
                Deliver(String(delta, "text"));
                Deliver(String(delta, "partial_json"));
                Deliver(String(delta, "thinking"));
                break;
            case "message_delta" when TryGet(item, "usage", JsonValueKind.Object, out var usage):
                // message_delta's usage is cumulative; newer API versions repeat the prompt counts in it.
                if (usage.TryGetProperty("input_tokens", out _))
                {
                    _anthropicInput = Long(usage, "input_tokens");
                }

                if (usage.TryGetProperty("cache_read_input_tokens", out _))
                {
                    _anthropicCacheRead = Long(usage, "cache_read_input_tokens");
                }

                if (usage.TryGetProperty("cache_creation_input_tokens", out _))
                {
                    _anthropicCacheWrite = Long(usage, "cache_creation_input_tokens");
                }

                if (_anthropicStarted || usage.TryGetProperty("input_tokens", out _))
                {
                    Report(TokenUsage.FromAnthropic(_anthropicInput, _anthropicCacheRead, _anthropicCacheWrite, Long(usage, "output_tokens")));
                }

                break;
        }
    }

    /// <summary>
    /// A whole (JSON) answer that has fully arrived, parsed once by the translator that restates it (the meter reads the
    /// same document instead of parsing its own copy at the end). Not read when the body was over the meter's cap, as
    /// that body is not metered either way.
    /// </summary>
    public void OnWholeAnswer(JsonElement root)
    {
        if (_streamed || _json is not { } json)
        {
            return;
        }

        ReadJsonRoot(root);
        json.Dispose();
        _json = null;
    }

    private void ReadJsonBody(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return;
        }

        using (document)
        {
            ReadJsonRoot(document.RootElement);
        }
    }

    private void ReadJsonRoot(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || TryGet(root, "error", JsonValueKind.Object, out _))
        {
            return;
        }

        ReadModel(root);
        if (TryGet(root, "usage", JsonValueKind.Object, out var usage))
        {
            Report(_operation == RelayOperation.Messages
                ? TokenUsage.FromAnthropic(
                    Long(usage, "input_tokens"), Long(usage, "cache_read_input_tokens"), Long(usage, "cache_creation_input_tokens"), Long(usage, "output_tokens"))
                : OpenAIUsage(usage));
        }

        // The delivered text is counted only when the upstream reported no (believable) usage (see
        // OnResponseEnded): with usage in the body, reading it out would be thrown away, unless the usage record
        // keeps it as the completion.
        var hasUsage = _context.ReportedUsage is not null && _contentChars is null;
        if (_operation == RelayOperation.Messages)
        {
            if (!hasUsage && TryGet(root, "content", JsonValueKind.Array, out var content))
            {
                foreach (var block in content.EnumerateArray())
                {
                    Deliver(String(block, "text"));
                    if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("input", out var input))
                    {
                        Deliver(input.GetRawText());
                    }
                }
            }

            return;
        }

        if (hasUsage)
        {
            return;
        }

        if (_operation == RelayOperation.Responses)
        {
            if (TryGet(root, "output", JsonValueKind.Array, out var output))
            {
                foreach (var item in output.EnumerateArray())
                {
                    Deliver(String(item, "arguments"));
                    if (TryGet(item, "content", JsonValueKind.Array, out var parts))
                    {
                        foreach (var part in parts.EnumerateArray())
                        {
                            Deliver(String(part, "text"));
                        }
                    }
                }
            }
        }
        else if (TryGet(root, "choices", JsonValueKind.Array, out var choices))
        {
            foreach (var choice in choices.EnumerateArray())
            {
                if (TryGet(choice, "message", JsonValueKind.Object, out var message))
                {
                    AddChatMessageText(message);
                }
            }
        }
    }

    private void AddChatMessageText(JsonElement message)
    {
        Deliver(String(message, "content"));
        Deliver(String(message, "refusal"));
        Deliver(String(message, "reasoning_content"));
        if (TryGet(message, "tool_calls", JsonValueKind.Array, out var calls))
        {
            foreach (var call in calls.EnumerateArray())
            {
                if (TryGet(call, "function", JsonValueKind.Object, out var function))
                {
                    Deliver(String(function, "name"));
                    Deliver(String(function, "arguments"));
                }
            }
        }
    }

    /// <summary>OpenAI usage in either shape: chat/embeddings (prompt_tokens…) or responses (input_tokens…).</summary>
    private TokenUsage OpenAIUsage(JsonElement usage)
    {
        if (usage.TryGetProperty("input_tokens", out _))
        {
            return TokenUsage.FromOpenAI(
                Long(usage, "input_tokens"),
                Nested(usage, "input_tokens_details", "cached_tokens"),
                Long(usage, "output_tokens"),
                Nested(usage, "output_tokens_details", "reasoning_tokens"));
        }

        return TokenUsage.FromOpenAI(
            Long(usage, "prompt_tokens"),
            Nested(usage, "prompt_tokens_details", "cached_tokens"),
            Long(usage, "completion_tokens"),
            Nested(usage, "completion_tokens_details", "reasoning_tokens"));
    }

    private void ReadModel(JsonElement item)
    {
        // Every chat chunk repeats the model; the first one that names it is enough.
        if (!_modelSeen && String(item, "model") is { Length: > 0 } model)
        {
            _context.ResponseModel = model;
            _modelSeen = true;
        }
    }

    private void Deliver(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            (_delivered ??= new StringBuilder()).Append(text);
        }
    }

    /// <summary>
    /// The property <paramref name="name"/> of <paramref name="item"/> when <paramref name="item"/> is an object and the
    /// property is of <paramref name="kind"/>. An upstream's answer is not trusted to be well formed: an array item that
    /// is not an object (<c>"choices": [1]</c>) has no properties instead of throwing. A missing property is
    /// <c>default</c>, whose kind is <see cref="JsonValueKind.Undefined"/>.
    /// </summary>
    private static bool TryGet(JsonElement item, string name, JsonValueKind kind, out JsonElement value)
    {
        value = default;
        return item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out value) && value.ValueKind == kind;
    }

    private static string? String(JsonElement item, string name) =>
        TryGet(item, name, JsonValueKind.String, out var value) ? value.GetString() : null;

    /// <summary>
    /// A token count of the upstream's usage: absent or null is 0; anything but a whole number from 0 to
    /// <see cref="MaxReportedTokens"/> (negative, fractional, 1e30, a string) makes the whole usage untrusted
    /// (<see cref="_usageRejected"/>), and the request is metered from its delivered text instead.
    /// </summary>
    private long Long(JsonElement item, string name)
    {
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number is >= 0 and <= MaxReportedTokens)
        {
            return number;
        }

        _usageRejected = true;
        return 0;
    }

    private long Nested(JsonElement item, string outer, string inner) =>
        TryGet(item, outer, JsonValueKind.Object, out var nested) ? Long(nested, inner) : 0;

    /// <summary>Sets the reported usage unless some count of it (in this response so far) was absurd.</summary>
    private void Report(TokenUsage usage)
    {
        _context.ReportedUsage = _usageRejected ? null : usage;
    }
}
