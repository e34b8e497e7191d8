using System.ClientModel;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI.Responses;
using RelayKit.Testing.Tests.Protocols.OpenAI;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.State;

/// <summary>
/// Responses the fake keeps as the real API does (stored unless <c>store: false</c>): retrieval, deletion,
/// cancellation, input items, and <c>previous_response_id</c> carrying the conversation into the next turn.
/// </summary>
public sealed class StoredResponsesTests
{
    [Fact]
    public async Task Previous_response_id_carries_the_earlier_turns_into_the_prompt_and_the_scripts()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenPromptContains("My name is Ada").WhenLastUserMessageContains("my name?").RespondWithText("Your name is Ada.");
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();

        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("My name is Ada.")]));
        ResponseResult second = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("What is my name?")])
        {
            PreviousResponseId = first.Id,
        });
        ResponseResult alone = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("What is my name?")]));

        // Input = previous input + previous output + new input, as the real API assembles it.
        var conversation = $"My name is Ada.\n{first.GetOutputText()}\nWhat is my name?";
        Assert.Equal("Your name is Ada.", second.GetOutputText());
        Assert.Equal(first.Id, second.PreviousResponseId);
        Assert.Equal(O200k.Count(conversation), second.Usage.InputTokenCount);
        Assert.Equal(conversation, fake.Requests[1].PromptText);
        Assert.Equal("What is my name?", fake.Requests[1].LastUserMessage);

        // The same question without the earlier turn is not what the rule was written for.
        Assert.NotEqual("Your name is Ada.", alone.GetOutputText());
        Assert.Equal(O200k.Count("What is my name?"), alone.Usage.InputTokenCount);
    }

    [Fact]
    public async Task A_chain_of_three_turns_sees_every_earlier_turn()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("one").RespondWithText("first answer");
        fake.Setup().WhenLastUserMessageContains("two").RespondWithToolCall("lookup", """{"q":"x"}""");
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();

        ResponseResult one = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("turn one")]));
        ResponseResult two = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("turn two")]) { PreviousResponseId = one.Id });
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(two.OutputItems));
        ResponseResult three = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateFunctionCallOutputItem(call.CallId, "42 results")])
        {
            PreviousResponseId = two.Id,
        });

        Assert.Equal("turn one\nfirst answer\nturn two\n{\"q\":\"x\"}\n42 results", fake.Requests[2].PromptText);
        Assert.Equal("turn two", fake.Requests[2].LastUserMessage);
        Assert.Equal(O200k.Count(fake.Requests[2].PromptText), three.Usage.InputTokenCount);
    }

    [Fact]
    public async Task A_Microsoft_Extensions_AI_chat_client_chains_turns_through_ConversationId()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenPromptContains("My name is Ada").WhenLastUserMessageContains("my name?").RespondWithText("Your name is Ada.");
        IChatClient chat = OpenAITestClients.InMemory(fake).GetResponsesClient().AsIChatClient("gpt-4o");

        var first = await chat.GetResponseAsync("My name is Ada.");
        var second = await chat.GetResponseAsync("What is my name?", new ChatOptions { ConversationId = first.ConversationId });

        Assert.StartsWith("resp_", first.ConversationId, StringComparison.Ordinal);
        Assert.Equal("Your name is Ada.", second.Text);
        Assert.Equal(first.ConversationId, (string?)fake.Requests[1].Body!["previous_response_id"]);
        Assert.Equal(second.ResponseId, second.ConversationId);
    }

    [Fact]
    public async Task A_stored_response_is_retrieved_then_deleted_then_not_found()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        ResponseResult created = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("hello")])
        {
            Metadata = { ["ticket"] = "T-1" },
        });

        ResponseResult retrieved = await client.GetResponseAsync(created.Id);
        ResponseDeletionResult deleted = await client.DeleteResponseAsync(created.Id);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(created.Id));
        var deleteAgain = await Assert.ThrowsAsync<ClientResultException>(() => client.DeleteResponseAsync(created.Id));

        Assert.Equal(created.Id, retrieved.Id);
        Assert.Equal(ResponseStatus.Completed, retrieved.Status);
        Assert.Equal(created.GetOutputText(), retrieved.GetOutputText());
        Assert.Equal(created.Usage.TotalTokenCount, retrieved.Usage.TotalTokenCount);
        Assert.Equal("T-1", retrieved.Metadata["ticket"]);
        Assert.True(deleted.Deleted);
        Assert.Equal(created.Id, deleted.ResponseId);
        Assert.Equal(404, missing.Status);
        Assert.Equal(404, deleteAgain.Status);
        var error = JsonNode.Parse(missing.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal($"Response with id '{created.Id}' not found.", (string?)error["message"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Null(error["code"]);
        Assert.Empty(fake.StoredAnswers);
    }

    [Fact]
    public async Task An_unknown_previous_response_id_is_the_real_400()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();

        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(
            new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("hi")]) { PreviousResponseId = "resp_nope" }));

        Assert.Equal(400, e.Status);
        var error = JsonNode.Parse(e.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("Previous response with id 'resp_nope' not found.", (string?)error["message"]);
        Assert.Equal("previous_response_id", (string?)error["param"]);
        Assert.Equal("previous_response_not_found", (string?)error["code"]);
    }

    [Fact]
    public async Task A_response_created_with_store_false_is_not_kept_and_cannot_be_continued()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        ResponseResult created = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("hi")])
        {
            StoredOutputEnabled = false,
        });

        var get = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(created.Id));
        var next = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(
            new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("again")]) { PreviousResponseId = created.Id }));

        Assert.Equal(404, get.Status);
        Assert.Equal(400, next.Status);
        Assert.Empty(fake.StoredAnswers);
    }

    [Fact]
    public async Task A_streamed_response_is_stored_with_its_final_output()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Streamed and stored.");
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();

        string? id = null;
        await foreach (var update in client.CreateResponseStreamingAsync(
            new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("stream it")]) { StreamingEnabled = true }))
        {
            id ??= (update as StreamingResponseCreatedUpdate)?.Response.Id;
        }

        ResponseResult stored = await client.GetResponseAsync(id!);

        Assert.Equal(ResponseStatus.Completed, stored.Status);
        Assert.Equal("Streamed and stored.", stored.GetOutputText());
    }

    [Fact]
    public async Task Input_items_list_the_request_input_with_ids_newest_first_by_default_and_page()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        ResponseResult created = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o",
        [
            ResponseItem.CreateDeveloperMessageItem("Be brief."),
            ResponseItem.CreateUserMessageItem("first question"),
            ResponseItem.CreateUserMessageItem("second question"),
        ]));

        var newestFirst = new List<ResponseItem>();
        await foreach (var item in client.GetResponseInputItemsAsync(created.Id))
        {
            newestFirst.Add(item);
        }

        var ascending = new List<ResponseItem>();
        await foreach (var item in client.GetResponseInputItemsAsync(new ResponseItemCollectionOptions(created.Id)
        {
            Order = ResponseItemCollectionOrder.Ascending,
            PageSizeLimit = 2,
        }))
        {
            ascending.Add(item);
        }

        Assert.Equal(["second question", "first question", "Be brief."], newestFirst.Select(Text));
        Assert.Equal(["Be brief.", "first question", "second question"], ascending.Select(Text));
        Assert.All(ascending, i => Assert.StartsWith("msg_", i.Id, StringComparison.Ordinal));
        Assert.Equal(3, ascending.Select(i => i.Id).Distinct().Count());

        // Two pages of two: the SDK followed has_more with after=<last id>.
        var pages = fake.Requests.Where(r => r.Path.EndsWith("/input_items", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, pages.Count);
        Assert.Equal(FakeEndpoint.OpenAIStoredResponses, pages[0].Endpoint);
    }

    [Fact]
    public async Task Only_a_background_response_can_be_cancelled()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        ResponseResult synchronous = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("now")]));
        ResponseResult background = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("later")])
        {
            BackgroundModeEnabled = true,
        });

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.CancelResponseAsync(synchronous.Id));
        ResponseResult cancelled = await client.CancelResponseAsync(background.Id);
        ResponseResult afterwards = await client.GetResponseAsync(background.Id);
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => client.CancelResponseAsync("resp_unknown"));

        Assert.Equal(ResponseStatus.Queued, background.Status);
        Assert.True(background.BackgroundModeEnabled);
        Assert.Equal(400, refused.Status);
        Assert.Equal("Cannot cancel a synchronous response.", (string?)JsonNode.Parse(refused.GetRawResponse()!.Content.ToString())!["error"]!["message"]);
        Assert.Equal(ResponseStatus.Cancelled, cancelled.Status);
        Assert.Equal(ResponseStatus.Cancelled, afterwards.Status);
        Assert.Empty(afterwards.OutputItems);
        Assert.Equal(404, unknown.Status);
    }

    [Fact]
    public async Task A_background_response_is_queued_until_retrieved_then_completed()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Done in the background.");
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();

        ResponseResult queued = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("work")])
        {
            BackgroundModeEnabled = true,
        });
        ResponseResult polled = await client.GetResponseAsync(queued.Id);
        ResponseResult cancelledTooLate = await client.CancelResponseAsync(queued.Id);

        Assert.Equal(ResponseStatus.Queued, queued.Status);
        Assert.Empty(queued.OutputItems);
        Assert.Equal(ResponseStatus.Completed, polled.Status);
        Assert.Equal("Done in the background.", polled.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, cancelledTooLate.Status);
    }

    [Fact]
    public async Task The_store_is_bounded_inspectable_and_reset()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-05-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { MaxStoredAnswers = 2, TimeProvider = clock });
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        var ids = new List<string>();
        foreach (var text in new[] { "a", "b", "c" })
        {
            ResponseResult created = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o-mini", [ResponseItem.CreateUserMessageItem(text)]));
            ids.Add(created.Id);
        }

        var evicted = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(ids[0]));
        var stored = fake.StoredAnswers;
        fake.Reset();

        Assert.Equal(404, evicted.Status);
        Assert.Equal(ids[1..], stored.Select(s => s.Id));
        Assert.All(stored, s => Assert.Equal(FakeEndpoint.OpenAIResponses, s.Endpoint));
        Assert.All(stored, s => Assert.Equal("gpt-4o-mini", s.Model));
        Assert.All(stored, s => Assert.Equal(clock.GetUtcNow(), s.StoredAt));
        Assert.Equal(ids[2], (string?)stored[1].Body["id"]);
        Assert.Empty(fake.StoredAnswers);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(ids[2]))).Status);
    }

    [Fact]
    public async Task With_a_cassette_the_recorded_upstream_holds_the_conversation_not_the_fake()
    {
        using var folder = new Cassettes.CassetteFolder();
        await using var upstream = new FakeUpstream();
        upstream.Setup().WhenPromptContains("My name is Ada").WhenLastUserMessageContains("my name?").RespondWithText("Your name is Ada.");
        var address = await upstream.StartAsync();
        await using var recorder = new FakeUpstream(new FakeUpstreamOptions { Cassette = folder.Options("chain", CassetteRecordMode.Once, address) });
        var client = OpenAITestClients.InMemory(recorder).GetResponsesClient();

        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("My name is Ada.")]));
        ResponseResult second = await client.CreateResponseAsync(new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("What is my name?")])
        {
            PreviousResponseId = first.Id,
        });

        // The recording fake forwarded the chained turn instead of refusing an id it never stored itself.
        Assert.Equal("Your name is Ada.", second.GetOutputText());
        Assert.Empty(recorder.StoredAnswers);
        Assert.Equal(2, upstream.StoredAnswers.Count);
    }

    private static string Text(ResponseItem item) =>
        string.Concat(Assert.IsAssignableFrom<MessageResponseItem>(item).Content.Select(c => c.Text));
}
