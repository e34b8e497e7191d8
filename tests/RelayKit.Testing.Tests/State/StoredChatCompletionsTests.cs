using System.ClientModel;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using RelayKit.Testing.Tests.Protocols.OpenAI;

namespace RelayKit.Testing.Tests.State;

/// <summary>Chat completions created with <c>store: true</c>, read back through the SDK's <see cref="ChatClient"/> stored-completion methods.</summary>
public sealed class StoredChatCompletionsTests
{
    [Fact]
    public async Task A_stored_completion_is_retrieved_listed_by_metadata_updated_and_deleted()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Three quiet hotels.");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        ChatCompletion created = await chat.CompleteChatAsync(
            [new SystemChatMessage("Be brief."), new UserChatMessage("Hotels in Porto?")],
            new ChatCompletionOptions { StoredOutputEnabled = true, Metadata = { ["topic"] = "hotels" } });
        await chat.CompleteChatAsync([new UserChatMessage("other")], new ChatCompletionOptions { StoredOutputEnabled = true, Metadata = { ["topic"] = "flights" } });

        ChatCompletion retrieved = await chat.GetChatCompletionAsync(created.Id);
        var hotels = await ToListAsync(chat.GetChatCompletionsAsync(new ChatCompletionCollectionOptions { Metadata = { ["topic"] = "hotels" } }));
        ChatCompletion updated = await chat.UpdateChatCompletionAsync(created.Id, new Dictionary<string, string> { ["topic"] = "archive" });
        var hotelsAfterUpdate = await ToListAsync(chat.GetChatCompletionsAsync(new ChatCompletionCollectionOptions { Metadata = { ["topic"] = "hotels" } }));
        var archived = await ToListAsync(chat.GetChatCompletionsAsync(new ChatCompletionCollectionOptions { Metadata = { ["topic"] = "archive" } }));
        var storedMetadata = fake.StoredAnswers.Single(s => s.Id == created.Id).Metadata;
        ChatCompletionDeletionResult deleted = await chat.DeleteChatCompletionAsync(created.Id);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetChatCompletionAsync(created.Id));

        Assert.Equal(created.Id, retrieved.Id);
        Assert.Equal("Three quiet hotels.", retrieved.Content[0].Text);
        Assert.Equal(created.Usage.TotalTokenCount, retrieved.Usage.TotalTokenCount);
        Assert.Equal(created.Id, Assert.Single(hotels).Id);
        Assert.Equal(created.Id, updated.Id);
        Assert.Empty(hotelsAfterUpdate);
        Assert.Equal(created.Id, Assert.Single(archived).Id);
        Assert.Equal("archive", storedMetadata["topic"]);
        Assert.Equal("flights", Assert.Single(fake.StoredAnswers).Metadata["topic"]);
        Assert.True(deleted.Deleted);
        Assert.Equal(created.Id, deleted.ChatCompletionId);
        Assert.Equal(404, missing.Status);
        var error = JsonNode.Parse(missing.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal($"Chat completion with id '{created.Id}' not found.", (string?)error["message"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
    }

    [Fact]
    public async Task Only_completions_created_with_store_true_are_kept()
    {
        await using var fake = new FakeUpstream();
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        ChatCompletion notStored = await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        var listed = await ToListAsync(chat.GetChatCompletionsAsync());
        var e = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetChatCompletionAsync(notStored.Id));

        Assert.Empty(listed);
        Assert.Equal(404, e.Status);
        Assert.Empty(fake.StoredAnswers);
    }

    [Fact]
    public async Task The_list_pages_in_either_order_and_filters_by_model()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ChatCompletion created = await client.GetChatClient(i == 2 ? "gpt-4o-mini" : "gpt-4o")
                .CompleteChatAsync([new UserChatMessage($"question {i}")], new ChatCompletionOptions { StoredOutputEnabled = true });
            ids.Add(created.Id);
        }

        var chat = client.GetChatClient("gpt-4o");
        var ascending = await ToListAsync(chat.GetChatCompletionsAsync(new ChatCompletionCollectionOptions { PageSizeLimit = 2 }));
        var descending = await ToListAsync(chat.GetChatCompletionsAsync(new ChatCompletionCollectionOptions
        {
            PageSizeLimit = 2,
            Order = ChatCompletionCollectionOrder.Descending,
        }));
        var mini = await ToListAsync(chat.GetChatCompletionsAsync(new ChatCompletionCollectionOptions { Model = "gpt-4o-mini" }));

        Assert.Equal(ids, ascending.Select(c => c.Id));
        Assert.Equal(ids.AsEnumerable().Reverse(), descending.Select(c => c.Id));
        Assert.Equal(ids[2], Assert.Single(mini).Id);

        // Three pages each way: the SDK followed has_more with after=<last id>.
        var listRequests = fake.Requests.Where(r => r.Method == "GET" && r.Path == "/v1/chat/completions").ToList();
        Assert.Equal(7, listRequests.Count);
        Assert.All(listRequests, r => Assert.Equal(FakeEndpoint.OpenAIStoredChatCompletions, r.Endpoint));
    }

    [Fact]
    public async Task The_messages_of_a_stored_completion_are_listed_with_ids()
    {
        await using var fake = new FakeUpstream();
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        ChatCompletion created = await chat.CompleteChatAsync(
            [new SystemChatMessage("Be brief."), new UserChatMessage("first"), new AssistantChatMessage("an answer"), new UserChatMessage("second")],
            new ChatCompletionOptions { StoredOutputEnabled = true });

        var all = await ToListAsync(chat.GetChatCompletionMessagesAsync(created.Id));
        var newestTwo = new List<ChatCompletionMessageListDatum>();
        await foreach (var message in chat.GetChatCompletionMessagesAsync(created.Id, new ChatCompletionMessageCollectionOptions
        {
            Order = ChatCompletionMessageCollectionOrder.Descending,
            PageSizeLimit = 2,
        }))
        {
            newestTwo.Add(message);
            if (newestTwo.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["Be brief.", "first", "an answer", "second"], all.Select(m => m.Content));
        Assert.Equal(Enumerable.Range(0, 4).Select(i => $"{created.Id}-{i}"), all.Select(m => m.Id));
        Assert.Equal(["second", "an answer"], newestTwo.Select(m => m.Content));
    }

    [Fact]
    public async Task Bad_stored_state_requests_get_the_openai_error_shape()
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();
        using var created = await OpenAITestClients.PostJsonAsync(http, "/v1/chat/completions",
            """{"model":"gpt-4o","store":true,"messages":[{"role":"user","content":"hi"}]}""");
        var id = (string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!;

        using var noMetadata = await OpenAITestClients.PostJsonAsync(http, $"/v1/chat/completions/{id}", "{}");
        using var numberValue = await OpenAITestClients.PostJsonAsync(http, $"/v1/chat/completions/{id}", """{"metadata":{"a":1}}""");
        using var badCreate = await OpenAITestClients.PostJsonAsync(http, "/v1/chat/completions",
            """{"model":"gpt-4o","store":true,"metadata":{"n":2},"messages":[{"role":"user","content":"hi"}]}""");
        using var badLimit = await http.GetAsync(new Uri("/v1/chat/completions?limit=0", UriKind.Relative));
        using var badOrder = await http.GetAsync(new Uri("/v1/chat/completions?order=sideways", UriKind.Relative));
        using var wrongMethod = await http.PutAsync(new Uri($"/v1/chat/completions/{id}", UriKind.Relative), null);
        using var unknownSubpath = await http.GetAsync(new Uri($"/v1/chat/completions/{id}/nothing", UriKind.Relative));

        Assert.Equal(400, (int)noMetadata.StatusCode);
        Assert.Equal("metadata", await ParamOf(noMetadata));
        Assert.Equal(400, (int)numberValue.StatusCode);
        Assert.Equal("metadata.a", await ParamOf(numberValue));
        Assert.Equal(400, (int)badCreate.StatusCode);
        Assert.Equal("metadata.n", await ParamOf(badCreate));
        Assert.Equal(400, (int)badLimit.StatusCode);
        Assert.Equal("limit", await ParamOf(badLimit));
        Assert.Equal(400, (int)badOrder.StatusCode);
        Assert.Equal("order", await ParamOf(badOrder));
        Assert.Equal(405, (int)wrongMethod.StatusCode);
        Assert.Equal(["GET", "POST", "DELETE"], wrongMethod.Content.Headers.Allow);
        Assert.Equal($"Invalid method for URL (PUT /v1/chat/completions/{id})", (string?)JsonNode.Parse(await wrongMethod.Content.ReadAsStringAsync())!["error"]!["message"]);
        Assert.Equal(404, (int)unknownSubpath.StatusCode);
        Assert.Empty(fake.StoredAnswers.Single().Metadata);
    }

    private static async Task<string?> ParamOf(HttpResponseMessage response) =>
        (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["param"];

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
