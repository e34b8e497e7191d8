using Microsoft.Extensions.AI;
using NJsonSchema;
using OpenAI.Responses;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary><c>POST /v1/responses</c> through the SDK's <see cref="ResponsesClient"/>, whole and as typed events.</summary>
public sealed class ResponsesTests
{
    [Fact]
    public async Task Creates_a_completed_response_with_text_and_usage()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("haiku").RespondWithText("Autumn moonlight, a worm digs silently.");
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();

        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("Write a haiku")])
        {
            Instructions = "You are a poet.",
        };
        ResponseResult response = await client.CreateResponseAsync(options);

        Assert.StartsWith("resp_", response.Id, StringComparison.Ordinal);
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal("gpt-4o", response.Model);
        Assert.Equal("Autumn moonlight, a worm digs silently.", response.GetOutputText());
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal(MessageRole.Assistant, message.Role);
        Assert.Equal(O200k.Count("Autumn moonlight, a worm digs silently."), response.Usage.OutputTokenCount);
        Assert.Equal(O200k.Count("Write a haiku\nYou are a poet."), response.Usage.InputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Returns_scripted_function_calls_as_output_items()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithToolCall("get_weather", """{"city":"Oslo"}""");
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();

        ResponseResult response = await client.CreateResponseAsync(WithTools("weather in Oslo?"));

        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("call_", call.CallId, StringComparison.Ordinal);
        Assert.Equal("""{"city":"Oslo"}""", call.FunctionArguments.ToString());
        Assert.Equal(FunctionCallStatus.Completed, call.Status);
    }

    [Fact]
    public async Task A_forced_function_gets_generated_arguments_valid_for_its_schema()
    {
        var schema = await JsonSchema.FromJsonAsync(ChatCompletionsTests.WeatherSchema);
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 7 });
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        var options = WithTools("tell me");
        options.ToolChoice = ResponseToolChoice.CreateFunctionChoice("get_weather");

        ResponseResult response = await client.CreateResponseAsync(options);

        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Empty(schema.Validate(call.FunctionArguments.ToString()));
    }

    [Fact]
    public async Task Max_output_tokens_makes_the_response_incomplete()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("Tell me a long story")])
        {
            MaxOutputTokenCount = 5,
        };

        ResponseResult response = await client.CreateResponseAsync(options);

        Assert.Equal(ResponseStatus.Incomplete, response.Status);
        Assert.Equal(ResponseIncompleteStatusReason.MaxOutputTokens, response.IncompleteStatusDetails.Reason);
        Assert.Equal(5, response.Usage.OutputTokenCount);
        Assert.Equal(5, O200k.Count(response.GetOutputText()));
    }

    [Fact]
    public async Task Streams_typed_text_events_in_order_ending_with_completed_and_usage()
    {
        await using var fake = new FakeUpstream();
        const string Text = "Events arrive in the documented order.";
        fake.Setup().RespondWithText(Text);
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("stream")]) { StreamingEnabled = true };

        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in client.CreateResponseStreamingAsync(options))
        {
            updates.Add(update);
        }

        Assert.Equal(Enumerable.Range(0, updates.Count), updates.Select(u => u.SequenceNumber));
        Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        Assert.IsType<StreamingResponseInProgressUpdate>(updates[1]);
        Assert.IsType<StreamingResponseOutputItemAddedUpdate>(updates[2]);
        Assert.IsType<StreamingResponseContentPartAddedUpdate>(updates[3]);
        var deltas = updates.OfType<StreamingResponseOutputTextDeltaUpdate>().ToList();
        Assert.True(deltas.Count > 3);
        Assert.Equal(Text, string.Concat(deltas.Select(d => d.Delta)));
        Assert.Equal(Text, Assert.Single(updates.OfType<StreamingResponseOutputTextDoneUpdate>()).Text);
        Assert.Single(updates.OfType<StreamingResponseContentPartDoneUpdate>());
        Assert.Single(updates.OfType<StreamingResponseOutputItemDoneUpdate>());
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]);
        Assert.Equal(ResponseStatus.Completed, completed.Response.Status);
        Assert.Equal(Text, completed.Response.GetOutputText());
        Assert.Equal(O200k.Count(Text), completed.Response.Usage.OutputTokenCount);
        Assert.Equal(((StreamingResponseCreatedUpdate)updates[0]).Response.Id, completed.Response.Id);
    }

    [Fact]
    public async Task Streams_function_call_arguments_as_deltas()
    {
        await using var fake = new FakeUpstream();
        const string Arguments = """{"city":"Oslo","unit":"celsius"}""";
        fake.Setup().RespondWithToolCall("get_weather", Arguments);
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        var options = WithTools("weather?");
        options.StreamingEnabled = true;

        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in client.CreateResponseStreamingAsync(options))
        {
            updates.Add(update);
        }

        var added = Assert.Single(updates.OfType<StreamingResponseOutputItemAddedUpdate>());
        var call = Assert.IsType<FunctionCallResponseItem>(added.Item);
        Assert.Equal("get_weather", call.FunctionName);
        var deltas = updates.OfType<StreamingResponseFunctionCallArgumentsDeltaUpdate>().ToList();
        Assert.True(deltas.Count > 1);
        Assert.All(deltas, d => Assert.Equal(call.Id, d.ItemId));
        Assert.Equal(Arguments, string.Concat(deltas.Select(d => d.Delta.ToString())));
        Assert.Equal(Arguments, Assert.Single(updates.OfType<StreamingResponseFunctionCallArgumentsDoneUpdate>()).FunctionArguments.ToString());
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]);
        var final = Assert.IsType<FunctionCallResponseItem>(Assert.Single(completed.Response.OutputItems));
        Assert.Equal(call.CallId, final.CallId);
        Assert.True(completed.Response.Usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task A_Microsoft_Extensions_AI_chat_client_over_the_responses_api_gets_text_and_usage()
    {
        // Only the non-streaming call: Microsoft.Extensions.AI.OpenAI 10.11.0 was built against OpenAI 2.14,
        // whose ResponsesClient.CreateResponseStreamingAsync returned AsyncCollectionResult; 2.15 returns
        // AsyncStreamingResult, so its streaming path throws MissingMethodException before any request is sent.
        // The SDK's own streaming is proven above.
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Through the Responses API.");
        IChatClient chat = OpenAITestClients.InMemory(fake).GetResponsesClient().AsIChatClient("gpt-4o");

        var response = await chat.GetResponseAsync("hello");

        Assert.Equal("Through the Responses API.", response.Text);
        Assert.Equal(O200k.Count("Through the Responses API."), response.Usage?.OutputTokenCount);
        Assert.Equal(O200k.Count("hello"), response.Usage?.InputTokenCount);
        Assert.Equal(FakeEndpoint.OpenAIResponses, Assert.Single(fake.Requests).Endpoint);
    }

    private static CreateResponseOptions WithTools(string prompt)
    {
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem(prompt)]);
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(ChatCompletionsTests.WeatherSchema), strictModeEnabled: false, "Weather for a city"));
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_time", BinaryData.FromString(ChatCompletionsTests.TimeSchema), strictModeEnabled: false, "Time in a zone"));
        return options;
    }
}
