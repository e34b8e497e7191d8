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
        var body = Envelope(answer, "chat.completion");
        var choices = new JsonArray();
        for (var index = 0; index < answer.Choices.Count; index++)
        {
            choices.Add(Choice(answer.Choices[index], index));
        }

        body["choices"] = choices;
        body["usage"] = Usage(answer);
        body["service_tier"] = "default";
        return body;
    }

    public IEnumerable<SseEvent> RenderStream(Answer answer)
    {
        // Choices are streamed one after another, each chunk naming its choice by index.
        for (var index = 0; index < answer.Choices.Count; index++)
        {
            foreach (var chunk in ChoiceChunks(answer, answer.Choices[index], index))
            {
                yield return chunk;
            }
        }

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
            ["reasoning_tokens"] = answer.Choices.Sum(choice => choice.Reply.ReasoningTokens),
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

    private static JsonObject Choice(AnswerChoice choice, int index)
    {
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = choice.Reply.Text,
            ["refusal"] = null,
            ["annotations"] = new JsonArray(),
        };
        if (choice.ToolCalls.Count > 0)
        {
            var calls = new JsonArray();
            foreach (var call in choice.ToolCalls)
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

        return new JsonObject
        {
            ["index"] = index,
            ["message"] = message,
            ["logprobs"] = Logprobs(choice.Reply.Logprobs),
            ["finish_reason"] = FinishReason(choice.Reply.EffectiveFinishReason),
        };
    }

    private static IEnumerable<SseEvent> ChoiceChunks(Answer answer, AnswerChoice choice, int choiceIndex)
    {
        yield return Chunk(answer, choiceIndex, new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null });
        if (choice.Reply.Logprobs is { } logprobs)
        {
            // With logprobs each chunk carries one token and its entry, so the entries of all chunks are the whole text's.
            foreach (var entry in logprobs)
            {
                yield return Chunk(answer, choiceIndex, new JsonObject { ["content"] = JsonText.String(JsonText.Field(entry, "token")) }, null, Logprobs([entry!.DeepClone()]));
            }
        }
        else if (!string.IsNullOrEmpty(choice.Reply.Text))
        {
            foreach (var piece in choice.TextPieces)
            {
                yield return Chunk(answer, choiceIndex, new JsonObject { ["content"] = piece });
            }
        }

        for (var index = 0; index < choice.ToolCalls.Count; index++)
        {
            var call = choice.ToolCalls[index];
            yield return Chunk(answer, choiceIndex, new JsonObject
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
                yield return Chunk(answer, choiceIndex, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = index,
                        ["function"] = new JsonObject { ["arguments"] = fragment },
                    }),
                });
            }
        }

        yield return Chunk(answer, choiceIndex, new JsonObject(), FinishReason(choice.Reply.EffectiveFinishReason));
    }

    /// <summary>A choice's <c>logprobs</c>: the entries of its content tokens, or null when none were asked for.</summary>
    private static JsonObject? Logprobs(JsonArray? content) =>
        content is null ? null : new JsonObject { ["content"] = content.DeepClone(), ["refusal"] = null };

    private static SseEvent Chunk(Answer answer, int choiceIndex, JsonObject delta, string? finishReason = null, JsonObject? logprobs = null)
    {
        var chunk = Envelope(answer, "chat.completion.chunk");
        chunk["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = choiceIndex,
            ["delta"] = delta,
            ["logprobs"] = logprobs,
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
