using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using OpenAI.Responses;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>Chat Completions <c>n</c> (several choices) and <c>logprobs</c>/<c>top_logprobs</c>, and the Responses API's logprobs.</summary>
public sealed class ChoicesAndLogprobsTests
{
    [Fact]
    public async Task N_returns_that_many_different_choices_and_counts_all_of_them_in_usage()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 8 });
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","n":3,"messages":[{"role":"user","content":"Name a colour."}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var choices = body["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => c!["index"]!.GetValue<int>()));
        var texts = choices.Select(c => c!["message"]!["content"]!.GetValue<string>()).ToList();
        Assert.Equal(3, texts.Distinct().Count());
        Assert.All(choices, c => Assert.Equal("stop", c!["finish_reason"]!.GetValue<string>()));
        Assert.Equal(texts.Sum(O200k.Count), body["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal(3, fake.Requests[0].ChoiceCount);

        // The SDK reads the first choice; it is the answer the same request without n gets.
        ChatCompletion single = await OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("Name a colour.")]);
        Assert.Equal(texts[0], single.Content[0].Text);
    }

    [Fact]
    public async Task N_streams_every_choice_with_its_index_and_the_usage_of_all()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 8 });
        using var whole = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","n":2,"messages":[{"role":"user","content":"Name a colour."}]}""");
        var expected = JsonNode.Parse(await whole.Content.ReadAsStringAsync())!;

        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","n":2,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Name a colour."}]}""");
        var chunks = OpenAITestClients.SseData(await response.Content.ReadAsStringAsync()).Where(d => d != "[DONE]").Select(d => JsonNode.Parse(d)!).ToList();

        var texts = new[] { new StringBuilder(), new StringBuilder() };
        var finishes = new List<int>();
        foreach (var choice in chunks.SelectMany(c => c["choices"]!.AsArray()))
        {
            var index = choice!["index"]!.GetValue<int>();
            texts[index].Append(choice["delta"]?["content"]?.GetValue<string>());
            if (choice["finish_reason"] is not null)
            {
                finishes.Add(index);
            }
        }

        Assert.Equal([0, 1], finishes);
        Assert.Equal(expected["choices"]![0]!["message"]!["content"]!.GetValue<string>(), texts[0].ToString());
        Assert.Equal(expected["choices"]![1]!["message"]!["content"]!.GetValue<string>(), texts[1].ToString());
        Assert.Equal(O200k.Count(texts[0].ToString()) + O200k.Count(texts[1].ToString()), chunks[^1]["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_script_answers_every_choice()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Blue.");
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","n":2,"messages":[{"role":"user","content":"Name a colour."}]}""");

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(["Blue.", "Blue."], body["choices"]!.AsArray().Select(c => c!["message"]!["content"]!.GetValue<string>()));
        Assert.Equal(2 * O200k.Count("Blue."), body["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Reasoning_tokens_in_usage_add_up_over_every_choice()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 8 });
        fake.Setup().RespondWith(FakeReply.WithText("Blue.") with { ReasoningTokens = 5 });

        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"o3-mini","n":3,"messages":[{"role":"user","content":"Name a colour."}]}""");

        var usage = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["usage"]!;
        Assert.Equal(15, usage["completion_tokens_details"]!["reasoning_tokens"]!.GetValue<int>());
        Assert.Equal(3 * (O200k.Count("Blue.") + 5), usage["completion_tokens"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(0, "below minimum")]
    [InlineData(129, "above maximum")]
    public async Task N_outside_the_api_bounds_is_a_400(int n, string reason)
    {
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            $$"""{"model":"gpt-4o","n":{{n}},"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("n", error["param"]!.GetValue<string>());
        Assert.Contains(reason, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logprobs_cover_every_token_of_the_answer_with_k_alternatives()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 2 });
        fake.Setup().RespondWithText("Paris is the capital of France.");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Capital of France?")], options);

        var tokens = completion.ContentTokenLogProbabilities;
        Assert.Equal(O200k.Count("Paris is the capital of France."), tokens.Count);
        Assert.Equal("Paris is the capital of France.", string.Concat(tokens.Select(t => t.Token)));
        foreach (var token in tokens)
        {
            Assert.InRange(token.LogProbability, -20f, 0f);
            Assert.Equal(Encoding.UTF8.GetBytes(token.Token), token.Utf8Bytes!.Value.ToArray());
            Assert.Equal(3, token.TopLogProbabilities.Count);
            Assert.Contains(token.TopLogProbabilities, t => t.Token == token.Token && t.LogProbability == token.LogProbability);
            Assert.Equal(3, token.TopLogProbabilities.Select(t => t.Token).Distinct().Count());
            Assert.Equal(token.TopLogProbabilities.OrderByDescending(t => t.LogProbability).Select(t => t.Token), token.TopLogProbabilities.Select(t => t.Token));

            // One position's probabilities are a distribution: together at most 1.
            Assert.True(token.TopLogProbabilities.Sum(t => Math.Exp(t.LogProbability)) <= 1.0001);
        }

        Assert.Equal(3, fake.Requests[0].TopLogprobs);
    }

    [Fact]
    public async Task Logprobs_without_top_logprobs_have_empty_alternatives_and_none_are_sent_when_not_asked()
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();
        using var asked = await OpenAITestClients.PostJsonAsync(http, "/v1/chat/completions",
            """{"model":"gpt-4o","logprobs":true,"messages":[{"role":"user","content":"hi"}]}""");
        using var notAsked = await OpenAITestClients.PostJsonAsync(http, "/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        var logprobs = JsonNode.Parse(await asked.Content.ReadAsStringAsync())!["choices"]![0]!["logprobs"]!;
        Assert.NotEmpty(logprobs["content"]!.AsArray());
        Assert.All(logprobs["content"]!.AsArray(), t => Assert.Empty(t!["top_logprobs"]!.AsArray()));
        Assert.Null(logprobs["refusal"]);
        Assert.Null(JsonNode.Parse(await notAsked.Content.ReadAsStringAsync())!["choices"]![0]!["logprobs"]);
    }

    [Fact]
    public async Task Streamed_logprobs_arrive_one_token_per_chunk_and_match_the_whole_answer()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 2 });
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 2 };
        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("Tell me something.")], options);

        var streamed = new List<ChatTokenLogProbabilityDetails>();
        var text = new StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Tell me something.")], options))
        {
            Assert.True(update.ContentTokenLogProbabilities.Count <= 1);
            streamed.AddRange(update.ContentTokenLogProbabilities);
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(whole.ContentTokenLogProbabilities.Select(t => (t.Token, t.LogProbability)), streamed.Select(t => (t.Token, t.LogProbability)));
        Assert.Equal(
            whole.ContentTokenLogProbabilities.SelectMany(t => t.TopLogProbabilities).Select(t => t.Token),
            streamed.SelectMany(t => t.TopLogProbabilities).Select(t => t.Token));
    }

    [Fact]
    public async Task Top_logprobs_above_20_is_a_400()
    {
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","logprobs":true,"top_logprobs":21,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("top_logprobs", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(""","logprobs":false""")]
    [InlineData("")]
    public async Task Top_logprobs_without_logprobs_is_a_400(string logprobs)
    {
        await using var fake = new FakeUpstream();
        using var response = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","top_logprobs":2""" + logprobs + ""","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("The 'top_logprobs' parameter is only allowed when 'logprobs' is enabled.", error["message"]!.GetValue<string>());
        Assert.Equal("top_logprobs", error["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_responses_api_returns_logprobs_when_included_whole_and_streamed()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 5 });
        fake.Setup().RespondWithText("Oslo is in Norway.");
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("Where is Oslo?")])
        {
            TopLogProbabilityCount = 2,
            IncludedProperties = { IncludedResponseProperty.MessageOutputTextLogProbabilities },
        };

        // The SDK parses the answer but does not expose an output_text part's logprobs; the raw body shows them.
        var result = await client.CreateResponseAsync(options);
        Assert.Equal("Oslo is in Norway.", result.Value.GetOutputText());
        var part = JsonNode.Parse(result.GetRawResponse().Content.ToString())!["output"]![0]!["content"]![0]!;
        var logprobs = part["logprobs"]!.AsArray();
        Assert.Equal("Oslo is in Norway.", string.Concat(logprobs.Select(t => t!["token"]!.GetValue<string>())));
        Assert.All(logprobs, t => Assert.Equal(2, t!["top_logprobs"]!.AsArray().Count));
        Assert.All(logprobs, t => Assert.NotEmpty(t!["bytes"]!.AsArray()));

        options.StreamingEnabled = true;
        var deltas = new List<string>();
        await foreach (var update in client.CreateResponseStreamingAsync(options))
        {
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                deltas.Add(delta.Delta);
            }
        }

        Assert.Equal(logprobs.Select(t => t!["token"]!.GetValue<string>()), deltas);
        Assert.Equal(2, fake.Requests[0].TopLogprobs);
    }
}
