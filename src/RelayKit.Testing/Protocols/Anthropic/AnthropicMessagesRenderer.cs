using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using RelayKit.Testing.Generation;
using RelayKit.Testing.Streaming;
using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Protocols.Anthropic;

/// <summary>Messages answers: a <c>message</c> object, or the typed event stream in Anthropic's official order.</summary>
internal sealed class AnthropicMessagesRenderer : IAnswerRenderer
{
    // input_json_delta fragments are this many characters long, as the real API splits them.
    private const int JsonFragmentLength = 8;
    private const int ThinkingTokensPerDelta = 4;

    // The API writes quotes as \" and non-ASCII text as UTF-8, not as \u0022 and \u00e9 (the serializer's
    // HTML-safe default); an SSE data line is never embedded in HTML, so the relaxed encoder is safe here.
    // Characters outside the BMP (emoji) stay \u-escaped: System.Text.Json cannot write them raw.
    private static readonly JsonSerializerOptions WireJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public SseEvent? Terminator => null;

    public static string StopReason(FakeFinishReason reason) => reason switch
    {
        FakeFinishReason.Length => "max_tokens",
        FakeFinishReason.ToolCalls or FakeFinishReason.FunctionCall => "tool_use",
        FakeFinishReason.ContentFilter => "refusal",
        FakeFinishReason.StopSequence => "stop_sequence",
        FakeFinishReason.PauseTurn => "pause_turn",
        _ => "end_turn",
    };

    public JsonObject RenderBody(Answer answer)
    {
        var content = new JsonArray();
        if (ThinkingBlock(answer) is { } thinking)
        {
            content.Add(thinking);
        }

        if (!string.IsNullOrEmpty(answer.Reply.Text) || answer.ToolCalls.Count == 0)
        {
            content.Add(TextBlock(answer.Reply.Text ?? ""));
        }

        foreach (var call in answer.ToolCalls)
        {
            content.Add(new JsonObject
            {
                ["type"] = "tool_use",
                ["id"] = call.Id,
                ["name"] = call.Name,
                ["input"] = JsonNode.Parse(call.ArgumentsJson),
                ["caller"] = DirectCaller(),
            });
        }

        var message = Message(answer, content, StopReason(answer.Reply.EffectiveFinishReason));
        message["usage"] = Usage(answer, answer.OutputTokens, ThinkingTokens(answer));
        return message;
    }

    public IEnumerable<SseEvent> RenderStream(Answer answer)
    {
        var start = Message(answer, new JsonArray(), null);
        start["usage"] = Usage(answer, 1, 0);
        yield return Event("message_start", new JsonObject { ["message"] = start });

        var index = 0;
        var pinged = false;
        if (ThinkingBlock(answer) is { } thinking)
        {
            foreach (var thinkingEvent in ThinkingEvents(thinking, index))
            {
                yield return thinkingEvent;
            }

            pinged = true;
            index++;
        }

        if (!string.IsNullOrEmpty(answer.Reply.Text) || answer.ToolCalls.Count == 0)
        {
            yield return Event("content_block_start", new JsonObject
            {
                ["index"] = index,
                ["content_block"] = TextBlock(""),
            });
            if (!pinged)
            {
                yield return Event("ping", []);
                pinged = true;
            }

            foreach (var piece in answer.TextPieces)
            {
                yield return Event("content_block_delta", new JsonObject
                {
                    ["index"] = index,
                    ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = piece },
                });
            }

            yield return Event("content_block_stop", new JsonObject { ["index"] = index });
            index++;
        }

        foreach (var call in answer.ToolCalls)
        {
            yield return Event("content_block_start", new JsonObject
            {
                ["index"] = index,
                ["content_block"] = new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = call.Id,
                    ["name"] = call.Name,
                    ["input"] = new JsonObject(),
                    ["caller"] = DirectCaller(),
                },
            });
            if (!pinged)
            {
                yield return Event("ping", []);
                pinged = true;
            }

            var json = call.ArgumentsJson;
            for (var offset = 0; offset < json.Length; offset += JsonFragmentLength)
            {
                yield return Event("content_block_delta", new JsonObject
                {
                    ["index"] = index,
                    ["delta"] = new JsonObject
                    {
                        ["type"] = "input_json_delta",
                        ["partial_json"] = json.Substring(offset, Math.Min(JsonFragmentLength, json.Length - offset)),
                    },
                });
            }

            yield return Event("content_block_stop", new JsonObject { ["index"] = index });
            index++;
        }

        if (!answer.OmitUsage)
        {
            yield return Event("message_delta", new JsonObject
            {
                ["delta"] = new JsonObject
                {
                    ["stop_reason"] = StopReason(answer.Reply.EffectiveFinishReason),
                    ["stop_sequence"] = MatchedStopSequence(answer),
                    ["stop_details"] = null,
                    ["container"] = null,
                },
                ["usage"] = DeltaUsage(answer),
            });
        }

        yield return Event("message_stop", []);
    }

    public SseEvent RenderStreamError(Answer answer, string errorType, string message) =>
        Event("error", new JsonObject { ["error"] = new JsonObject { ["type"] = errorType, ["message"] = message } });

    /// <summary>
    /// The reply's thinking as the block that comes before the text: <c>thinking</c> with its signature (its text left
    /// empty when the request asked for <c>display: omitted</c>), or <c>redacted_thinking</c> with its data.
    /// </summary>
    private static JsonObject? ThinkingBlock(Answer answer)
    {
        if (answer.Reply.RedactedThinking is { } data)
        {
            return new JsonObject { ["type"] = "redacted_thinking", ["data"] = data };
        }

        if (answer.Reply.Thinking is not { } thinking)
        {
            return null;
        }

        return new JsonObject
        {
            ["type"] = "thinking",
            ["thinking"] = answer.Request.OmitsThinkingText ? "" : thinking,
            ["signature"] = ThinkingSignature.Of(thinking),
        };
    }

    /// <summary>
    /// A thinking block's events: its start (and the stream's ping), its text as <c>thinking_delta</c>s, its signature as
    /// one <c>signature_delta</c>, its stop. Redacted thinking arrives whole in its <c>content_block_start</c>.
    /// </summary>
    private static IEnumerable<SseEvent> ThinkingEvents(JsonObject thinking, int index)
    {
        var redacted = JsonText.String(thinking["type"]) == "redacted_thinking";
        yield return Event("content_block_start", new JsonObject
        {
            ["index"] = index,
            ["content_block"] = redacted ? thinking.DeepClone() : new JsonObject { ["type"] = "thinking", ["thinking"] = "", ["signature"] = "" },
        });
        yield return Event("ping", []);
        if (!redacted)
        {
            foreach (var piece in ThinkingPieces(JsonText.String(thinking["thinking"]) ?? ""))
            {
                yield return Event("content_block_delta", new JsonObject
                {
                    ["index"] = index,
                    ["delta"] = new JsonObject { ["type"] = "thinking_delta", ["thinking"] = piece },
                });
            }

            yield return Event("content_block_delta", new JsonObject
            {
                ["index"] = index,
                ["delta"] = new JsonObject { ["type"] = "signature_delta", ["signature"] = thinking["signature"]?.DeepClone() },
            });
        }

        yield return Event("content_block_stop", new JsonObject { ["index"] = index });
    }

    /// <summary>Thinking streams in larger pieces than text does: a few tokens per delta.</summary>
    private static IEnumerable<string> ThinkingPieces(string thinking)
    {
        var pieces = TokenCounter.SplitIntoTokens(thinking);
        for (var i = 0; i < pieces.Count; i += ThinkingTokensPerDelta)
        {
            yield return string.Concat(pieces.Skip(i).Take(ThinkingTokensPerDelta));
        }
    }

    /// <summary>
    /// The message object, whole or as <c>message_start</c> carries it, with every field the official SDK requires:
    /// those the fake has nothing for (no container tool, no refusal detail, no diagnostics asked for) are null, as the
    /// live API sends them.
    /// </summary>
    private static JsonObject Message(Answer answer, JsonArray content, string? stopReason) => new()
    {
        ["id"] = answer.Id,
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = answer.Model,
        ["content"] = content,
        ["container"] = null,
        ["stop_reason"] = stopReason,
        ["stop_sequence"] = stopReason is null ? null : MatchedStopSequence(answer),
        ["stop_details"] = null,
        ["diagnostics"] = null,
    };

    /// <summary>A text block; <c>citations</c> is null because the fake never cites a document.</summary>
    private static JsonObject TextBlock(string text) => new() { ["type"] = "text", ["text"] = text, ["citations"] = null };

    /// <summary>
    /// The stop sequence a <c>stop_sequence</c> stop matched: the first one the request asked for, as the
    /// real API names the one it hit; <see langword="null"/> for every other stop reason.
    /// </summary>
    private static string? MatchedStopSequence(Answer answer) =>
        answer.Reply.EffectiveFinishReason == FakeFinishReason.StopSequence
        && answer.Request.Body?["stop_sequences"] is JsonArray sequences
        && sequences.Count > 0
            ? JsonText.String(sequences[0])
            : null;

    // The official SDK requires a caller on every tool_use block; "direct" is what the API sends for a
    // call the model made itself (the alternative is a call made from a code-execution tool).
    private static JsonObject DirectCaller() => new() { ["type"] = "direct" };

    /// <summary>
    /// Usage in Anthropic's terms: <c>input_tokens</c> excludes cache reads and writes. No server tool ran, so
    /// <c>server_tool_use</c> is null; the geography is the one the live API reports when none was asked for.
    /// </summary>
    private static JsonObject Usage(Answer answer, int outputTokens, int thinkingTokens) => new()
    {
        ["input_tokens"] = answer.UncachedInputTokens,
        ["cache_creation_input_tokens"] = answer.CacheCreationInputTokens,
        ["cache_read_input_tokens"] = answer.CachedInputTokens,
        ["cache_creation"] = new JsonObject
        {
            ["ephemeral_5m_input_tokens"] = answer.CacheCreationInputTokens,
            ["ephemeral_1h_input_tokens"] = 0,
        },
        ["output_tokens"] = outputTokens,
        ["output_tokens_details"] = new JsonObject { ["thinking_tokens"] = thinkingTokens },
        ["server_tool_use"] = null,
        ["service_tier"] = "standard",
        ["inference_geo"] = "not_available",
        ["speed"] = "standard",
    };

    /// <summary>The cumulative usage of <c>message_delta</c>: the same counts as the whole message, without its tier.</summary>
    private static JsonObject DeltaUsage(Answer answer) => new()
    {
        ["input_tokens"] = answer.UncachedInputTokens,
        ["cache_creation_input_tokens"] = answer.CacheCreationInputTokens,
        ["cache_read_input_tokens"] = answer.CachedInputTokens,
        ["output_tokens"] = answer.OutputTokens,
        ["output_tokens_details"] = new JsonObject { ["thinking_tokens"] = ThinkingTokens(answer) },
        ["server_tool_use"] = null,
    };

    /// <summary>The thinking share of <c>output_tokens</c>: thinking and redacted thinking text, plus reasoning tokens a script set.</summary>
    private static int ThinkingTokens(Answer answer) =>
        TokenCounter.Count(answer.Reply.Thinking) + TokenCounter.Count(answer.Reply.RedactedThinking) + answer.Reply.ReasoningTokens;

    private static SseEvent Event(string type, JsonObject payload)
    {
        var data = new JsonObject { ["type"] = type };
        foreach (var (name, value) in payload.ToList())
        {
            payload.Remove(name);
            data[name] = value;
        }

        return new SseEvent(type, data.ToJsonString(WireJson));
    }
}
