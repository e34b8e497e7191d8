using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RelayKit.Testing.Generation;
using RelayKit.Testing.Protocols;
using RelayKit.Testing.Protocols.OpenAI;

namespace RelayKit.Testing.State;

/// <summary>
/// The state the real OpenAI APIs keep: stored chat completions (<c>store: true</c>) and responses (stored
/// unless <c>store: false</c>), which later requests read, list, update, delete, cancel and continue.
/// Keeps new answers as the fake makes them, and answers the stored-state endpoints.
/// </summary>
internal sealed class StoredStateHandler(FakeUpstream fake)
{
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;
    private const int MaxMetadataPairs = 16;
    private const int MaxMetadataKeyLength = 64;
    private const int MaxMetadataValueLength = 512;

    private AnswerStore Store => fake.Store;

    /// <summary>Whether the real API would keep this answer: a chat completion asked for <c>store: true</c>; a response did not say <c>store: false</c>.</summary>
    public bool WouldStore(FakeRequest request) => Store.Capacity > 0 && request.Endpoint switch
    {
        FakeEndpoint.OpenAIChatCompletions => JsonText.Bool(JsonText.Field(request.Body, "store")),
        FakeEndpoint.OpenAIResponses => JsonText.Field(request.Body, "store") is not JsonValue store || !store.TryGetValue<bool>(out var keep) || keep,
        _ => false,
    };

    /// <summary>
    /// Keeps an answer, rendered whole in <paramref name="body"/> (which this may change), and returns the JSON a
    /// non-streamed request is answered with: the body itself, or for a background response the queued response.
    /// </summary>
    /// <param name="answer">The answer.</param>
    /// <param name="body">The answer rendered whole.</param>
    /// <param name="input">A Responses request's whole input when it continued an earlier response, else <see langword="null"/>.</param>
    /// <param name="ids">The request's id source, for the ids of the stored items.</param>
    public string Keep(Answer answer, JsonObject body, JsonArray? input, IdSource ids)
    {
        var request = answer.Request;
        var metadata = ReadMetadata(JsonText.Field(request.Body, "metadata")) ?? [];
        if (request.Endpoint == FakeEndpoint.OpenAIChatCompletions)
        {
            var answerJson = WireJson.Write(body);
            body["metadata"] = MetadataNode(metadata);
            Store.Add(new StoredAnswer
            {
                Id = answer.Id,
                Endpoint = FakeEndpoint.OpenAIChatCompletions,
                Model = answer.Model,
                StoredAt = fake.Options.TimeProvider.GetUtcNow(),
                Json = WireJson.Write(body),
                Metadata = metadata,
                Items = ChatMessages(answer.Id, JsonText.Field(request.Body, "messages") as JsonArray),
            });
            return answerJson;
        }

        var background = JsonText.Bool(JsonText.Field(request.Body, "background"));
        body["background"] = background;
        var own = ResponsesConversation.Items(JsonText.Field(request.Body, "input"));
        var conversation = input is null ? (JsonArray)own.DeepClone() : (JsonArray)input.DeepClone();
        foreach (var item in (body["output"] as JsonArray ?? []).Select(i => i?.DeepClone()))
        {
            conversation.Add(item);
        }

        var json = WireJson.Write(body);
        Store.Add(new StoredAnswer
        {
            Id = answer.Id,
            Endpoint = FakeEndpoint.OpenAIResponses,
            Model = answer.Model,
            StoredAt = fake.Options.TimeProvider.GetUtcNow(),
            Json = json,
            Metadata = metadata,
            Items = ResponsesConversation.Listed(own, ids),
            Conversation = conversation,
            Background = background ? ResponseBackground.Queued : ResponseBackground.None,
        });
        return background ? WireJson.Write(Unfinished(body, "queued")) : json;
    }

    /// <summary>Answers a request to one of the stored-state endpoints.</summary>
    public (int Status, JsonObject Body) Answer(FakeRequest request, IQueryCollection query)
    {
        var route = StoredRoute.Match(request.Path.TrimEnd('/'), request.Method.ToUpperInvariant(), out _)!.Value;
        var id = route.Id ?? "";
        try
        {
            return route.Operation switch
            {
                StoredOperation.ListChatCompletions => (200, ListChatCompletions(query)),
                StoredOperation.GetChatCompletion => Get(FakeEndpoint.OpenAIChatCompletions, id, a => a.Json),
                StoredOperation.UpdateChatCompletion => UpdateChatCompletion(id, request.Body),
                StoredOperation.DeleteChatCompletion => Delete(FakeEndpoint.OpenAIChatCompletions, id, new JsonObject
                {
                    ["object"] = "chat.completion.deleted",
                    ["id"] = id,
                    ["deleted"] = true,
                }),
                StoredOperation.ListChatCompletionMessages => Items(FakeEndpoint.OpenAIChatCompletions, id, query, "asc"),
                StoredOperation.GetResponse => Get(FakeEndpoint.OpenAIResponses, id, Retrieve),
                StoredOperation.DeleteResponse => Delete(FakeEndpoint.OpenAIResponses, id, new JsonObject
                {
                    ["id"] = id,
                    ["object"] = "response",
                    ["deleted"] = true,
                }),
                StoredOperation.CancelResponse => Cancel(id),
                _ => Items(FakeEndpoint.OpenAIResponses, id, query, "desc"),
            };
        }
        catch (BadRequestException e)
        {
            return (e.Status, OpenAIErrorBody.Create(e.Message, "invalid_request_error", e.Param, e.Code));
        }
    }

    private static JsonObject Unfinished(JsonObject completed, string status)
    {
        var copy = (JsonObject)completed.DeepClone();
        copy["status"] = status;
        copy["output"] = new JsonArray();
        copy["usage"] = null;
        copy["incomplete_details"] = null;
        return copy;
    }

    /// <summary>A background response is queued until first retrieved (the fake's model is instant), completed from then on.</summary>
    private static string Retrieve(StoredAnswer answer)
    {
        if (answer.Background == ResponseBackground.Queued)
        {
            answer.Background = ResponseBackground.Completed;
        }

        return answer.Json;
    }

    private static BadRequestException NotFound(FakeEndpoint endpoint, string id) => new(
        404,
        endpoint == FakeEndpoint.OpenAIResponses ? $"Response with id '{id}' not found." : $"Chat completion with id '{id}' not found.");

    private static JsonObject MetadataNode(Dictionary<string, string> metadata)
    {
        var node = new JsonObject();
        foreach (var (key, value) in metadata)
        {
            node[key] = value;
        }

        return node;
    }

    /// <summary>Metadata as the API accepts it: an object of at most 16 string values, keys up to 64 chars, values up to 512.</summary>
    /// <exception cref="BadRequestException">The metadata is not that.</exception>
    internal static Dictionary<string, string>? ReadMetadata(JsonNode? node)
    {
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject pairs)
        {
            throw new BadRequestException(400, "Invalid type for 'metadata': expected an object.", "metadata");
        }

        if (pairs.Count > MaxMetadataPairs)
        {
            throw new BadRequestException(400, $"Invalid 'metadata': too many properties. Expected an object with at most {MaxMetadataPairs} properties, but got an object with {pairs.Count} properties instead.", "metadata");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in pairs)
        {
            if (key.Length > MaxMetadataKeyLength)
            {
                throw new BadRequestException(400, $"Invalid 'metadata': key '{key}' is longer than {MaxMetadataKeyLength} characters.", "metadata");
            }

            var text = JsonText.String(value)
                ?? throw new BadRequestException(400, $"Invalid type for 'metadata.{key}': expected a string.", $"metadata.{key}");
            if (text.Length > MaxMetadataValueLength)
            {
                throw new BadRequestException(400, $"Invalid 'metadata.{key}': string too long. Expected a string with maximum length {MaxMetadataValueLength}, but got a string with length {text.Length} instead.", $"metadata.{key}");
            }

            metadata[key] = text;
        }

        return metadata;
    }

    private static JsonArray ChatMessages(string completionId, JsonArray? messages)
    {
        var listed = new JsonArray();
        var index = 0;
        foreach (var message in (messages ?? []).OfType<JsonObject>())
        {
            var content = message["content"];
            listed.Add(new JsonObject
            {
                ["id"] = $"{completionId}-{index++}",
                ["role"] = message["role"]?.DeepClone(),
                ["content"] = JsonText.ContentText(content),
                ["refusal"] = null,
                ["name"] = message["name"]?.DeepClone(),
                ["content_parts"] = content is JsonArray parts ? parts.DeepClone() : null,
                ["tool_calls"] = message["tool_calls"]?.DeepClone(),
            });
            if (listed[^1]!["tool_calls"] is null)
            {
                listed[^1]!.AsObject().Remove("tool_calls");
            }
        }

        return listed;
    }

    private static (int Limit, bool Descending, string? After) Paging(IQueryCollection query, string defaultOrder)
    {
        var limit = DefaultPageSize;
        if (query.TryGetValue("limit", out var limitText))
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxPageSize)
            {
                throw new BadRequestException(400, $"Invalid 'limit': '{limitText}'. Expected an integer from 1 to {MaxPageSize}.", "limit");
            }
        }

        var order = query.TryGetValue("order", out var orderText) ? orderText.ToString() : defaultOrder;
        if (order is not ("asc" or "desc"))
        {
            throw new BadRequestException(400, $"Invalid value for 'order': '{order}'. Supported values are: 'asc' and 'desc'.", "order");
        }

        var after = query.TryGetValue("after", out var afterText) && afterText.ToString().Length > 0 ? afterText.ToString() : null;
        return (limit, order == "desc", after);
    }

    /// <summary>One page of a list: the items after the <c>after</c> id in list order, and whether more follow.</summary>
    private static JsonObject Page(IReadOnlyList<(string Id, JsonNode Item)> ordered, (int Limit, bool Descending, string? After) paging)
    {
        var items = paging.Descending ? ordered.Reverse().ToList() : ordered.ToList();
        var start = 0;
        if (paging.After is { } after)
        {
            var at = items.FindIndex(i => i.Id == after);
            start = at < 0 ? items.Count : at + 1;
        }

        var page = items.Skip(start).Take(paging.Limit).ToList();
        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(page.Select(i => (JsonNode?)i.Item).ToArray()),
            ["first_id"] = page.Count > 0 ? page[0].Id : null,
            ["last_id"] = page.Count > 0 ? page[^1].Id : null,
            ["has_more"] = start + page.Count < items.Count,
        };
    }

    private JsonObject ListChatCompletions(IQueryCollection query)
    {
        var paging = Paging(query, "asc");
        var model = query.TryGetValue("model", out var m) && m.ToString().Length > 0 ? m.ToString() : null;
        var wanted = new List<(string Key, string Value)>();
        foreach (var (name, value) in query)
        {
            if (name.StartsWith("metadata[", StringComparison.Ordinal) && name.EndsWith(']'))
            {
                wanted.Add((name["metadata[".Length..^1], value.ToString()));
            }
        }

        var matching = Store.Snapshot()
            .Where(a => a.Endpoint == FakeEndpoint.OpenAIChatCompletions)
            .Where(a => model is null || a.Model == model)
            .Where(a => wanted.All(w => a.Metadata.TryGetValue(w.Key, out var v) && v == w.Value))
            .Select(a => (a.Id, (JsonNode)a.Body))
            .ToList();
        return Page(matching, paging);
    }

    private (int, JsonObject) Get(FakeEndpoint endpoint, string id, Func<StoredAnswer, string> read)
    {
        var answer = Store.Find(endpoint, id) ?? throw NotFound(endpoint, id);
        return (200, JsonNode.Parse(Store.Locked(() => read(answer)))!.AsObject());
    }

    private (int, JsonObject) Delete(FakeEndpoint endpoint, string id, JsonObject deleted) =>
        Store.Remove(endpoint, id) ? (200, deleted) : throw NotFound(endpoint, id);

    private (int, JsonObject) UpdateChatCompletion(string id, JsonNode? body)
    {
        var answer = Store.Find(FakeEndpoint.OpenAIChatCompletions, id) ?? throw NotFound(FakeEndpoint.OpenAIChatCompletions, id);
        var metadata = ReadMetadata(JsonText.Field(body, "metadata"))
            ?? throw new BadRequestException(400, "Missing required parameter: 'metadata'.", "metadata");
        var json = Store.Locked(() =>
        {
            var updated = JsonNode.Parse(answer.Json)!.AsObject();
            updated["metadata"] = MetadataNode(metadata);
            answer.Metadata = metadata;
            answer.Json = WireJson.Write(updated);
            return answer.Json;
        });
        return (200, JsonNode.Parse(json)!.AsObject());
    }

    private (int, JsonObject) Cancel(string id)
    {
        var answer = Store.Find(FakeEndpoint.OpenAIResponses, id) ?? throw NotFound(FakeEndpoint.OpenAIResponses, id);
        var json = Store.Locked(() =>
        {
            switch (answer.Background)
            {
                case ResponseBackground.None:
                    throw new BadRequestException(400, "Cannot cancel a synchronous response.");
                case ResponseBackground.Queued:
                    answer.Json = WireJson.Write(Unfinished(JsonNode.Parse(answer.Json)!.AsObject(), "cancelled"));
                    answer.Background = ResponseBackground.Cancelled;
                    break;
            }

            // Cancelling a response that already finished or was cancelled changes nothing.
            return answer.Json;
        });
        return (200, JsonNode.Parse(json)!.AsObject());
    }

    private (int, JsonObject) Items(FakeEndpoint endpoint, string id, IQueryCollection query, string defaultOrder)
    {
        var paging = Paging(query, defaultOrder);
        var answer = Store.Find(endpoint, id) ?? throw NotFound(endpoint, id);
        var items = Store.Locked(() => answer.Items.OfType<JsonObject>()
            .Select(i => (JsonText.String(i["id"]) ?? "", i.DeepClone()))
            .ToList());
        return (200, Page(items, paging));
    }
}
