using System.Text.Json.Nodes;
using RelayKit.Testing.Streaming;
using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Protocols.OpenAI;

/// <summary>Chat Completions answers: a <c>chat.completion</c> object, or <c>chat.completion.chunk</c> events.</summary>
internal sealed class OpenAIChatRenderer : IAnswerRenderer
{
    public SseEvent? Terminator => new SseEvent(null, "[DONE]");

    public static string FinishReason(FakeFinishReason reason) => reason switch
    {
        FakeFinishReason.Length => "length",
        FakeFinishReason.ToolCalls => "tool_calls",
        FakeFinishReason.ContentFilter => "content_filter",
        FakeFinishReason.FunctionCall => "function_call",
        _ => "stop",
    };

    public JsonObject RenderBody(Answer answer)
    {
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = answer.Reply.Text,
            ["refusal"] = null,
            ["annotations"] = new JsonArray(),
        };
        if (answer.ToolCalls.Count > 0)
        {
            var calls = new JsonArray();
            foreach (var call in answer.ToolCalls)
            {
                calls.Add(new JsonObject
                {
                    ["id"] = call.Id,
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.ArgumentsJson },
                });
            }

            message["tool_calls"] = calls;
        }

        var body = Envelope(answer, "chat.completion");
        body["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = message,
            ["logprobs"] = null,
            ["finish_reason"] = FinishReason(answer.Reply.EffectiveFinishReason),
        });
        body["usage"] = Usage(answer);
        body["service_tier"] = "default";
        return body;
    }

    public IEnumerable<SseEvent> RenderStream(Answer answer)
    {
        yield return Chunk(answer, new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null });
        if (!string.IsNullOrEmpty(answer.Reply.Text))
        {
            foreach (var piece in answer.TextPieces)
            {
                yield return Chunk(answer, new JsonObject { ["content"] = piece });
            }
        }

        for (var index = 0; index < answer.ToolCalls.Count; index++)
        {
            var call = answer.ToolCalls[index];
            yield return Chunk(answer, new JsonObject
            {
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = index,
                    ["id"] = call.Id,
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = "" },
                }),
            });
            foreach (var fragment in ArgumentFragments.Of(call.ArgumentsJson))
            {
                yield return Chunk(answer, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = index,
                        ["function"] = new JsonObject { ["arguments"] = fragment },
                    }),
                });
            }
        }

        yield return Chunk(answer, new JsonObject(), FinishReason(answer.Reply.EffectiveFinishReason));
        if (answer.Request.IncludeUsage && !answer.OmitUsage)
        {
            var usage = Envelope(answer, "chat.completion.chunk");
            usage["choices"] = new JsonArray();
            usage["usage"] = Usage(answer);
            yield return new SseEvent(null, WireJson.Write(usage));
        }
    }

    public SseEvent RenderStreamError(Answer answer, string errorType, string message) =>
        new(null, WireJson.Write(OpenAIErrorBody.Create(message, errorType, null, null)));

    internal static JsonObject Usage(Answer answer) => new()
    {
        ["prompt_tokens"] = answer.InputTokens,
        ["completion_tokens"] = answer.OutputTokens,
        ["total_tokens"] = answer.InputTokens + answer.OutputTokens,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = answer.CachedInputTokens, ["audio_tokens"] = 0 },
        ["completion_tokens_details"] = new JsonObject
        {
            ["reasoning_tokens"] = answer.Reply.ReasoningTokens,
            ["audio_tokens"] = 0,
            ["accepted_prediction_tokens"] = 0,
            ["rejected_prediction_tokens"] = 0,
        },
    };

    private static JsonObject Envelope(Answer answer, string objectType) => new()
    {
        ["id"] = answer.Id,
        ["object"] = objectType,
        ["created"] = answer.Created,
        ["model"] = answer.Model,
        ["system_fingerprint"] = "fp_relaykit",
    };

    private static SseEvent Chunk(Answer answer, JsonObject delta, string? finishReason = null)
    {
        var chunk = Envelope(answer, "chat.completion.chunk");
        chunk["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["delta"] = delta,
            ["logprobs"] = null,
            ["finish_reason"] = finishReason,
        });
        if (answer.Request.IncludeUsage)
        {
            // With include_usage OpenAI sends "usage": null on every chunk but the last.
            chunk["usage"] = null;
        }

        return new SseEvent(null, WireJson.Write(chunk));
    }
}
