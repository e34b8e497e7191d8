using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI.Chat;
using RelayKit.Testing.Tests.Protocols.OpenAI;

namespace RelayKit.Testing.Tests.Scripting;

/// <summary>Script rules as a test writes them, answered through the OpenAI SDK.</summary>
public sealed class FakeRuleTests
{
    [Fact]
    public async Task Rules_match_by_model_pattern_and_the_generator_answers_the_rest()
    {
        await using var fake = new FakeUpstream();
        var gpt = fake.Setup().ForModel("gpt-4o*").RespondWithText("from the gpt rule");
        var claude = fake.Setup().ForModel("CLAUDE-*").RespondWithText("from the claude rule");
        var client = OpenAITestClients.InMemory(fake);

        Assert.Equal("from the gpt rule", await AskAsync(client.GetChatClient("gpt-4o-mini"), "hi"));
        Assert.Equal("from the claude rule", await AskAsync(client.GetChatClient("claude-sonnet-4-5"), "hi"));
        var generated = await AskAsync(client.GetChatClient("o3"), "hi");

        Assert.DoesNotContain("rule", generated, StringComparison.Ordinal);
        Assert.Equal(1, gpt.AnswerCount);
        Assert.Equal(1, claude.AnswerCount);
        Assert.Equal([gpt.ToString(), claude.ToString(), null], fake.Requests.Select(r => r.AnsweredBy));
        Assert.Contains("model gpt-4o*", gpt.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rules_match_on_the_last_user_message_only()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WhenLastUserMessageContains("WEATHER").RespondWithText("sunny");
        fake.Setup().WhenLastUserMessage(m => m.EndsWith('?')).RespondWithText("a question");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var weather = await AskAsync(chat, [new UserChatMessage("hello"), new AssistantChatMessage("hi"), new UserChatMessage("what's the weather")]);
        var question = await AskAsync(chat, [new UserChatMessage("tell me the weather"), new AssistantChatMessage("where?"), new UserChatMessage("Paris?")]);

        Assert.Equal("sunny", weather);
        Assert.Equal("a question", question);
    }

    [Fact]
    public async Task OnCall_answers_only_the_nth_matching_request_and_Times_caps_a_rule()
    {
        await using var fake = new FakeUpstream();
        var second = fake.Setup().ForModel("gpt-4o").OnCall(2).RespondWithText("second call");
        var twice = fake.Setup().ForModel("gpt-4o").Times(2).RespondWithText("one of two");
        fake.Setup().ForModel("gpt-4o").RespondWithText("fallback rule");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var answers = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add(await AskAsync(chat, "hi"));
        }

        Assert.Equal(["one of two", "second call", "one of two", "fallback rule", "fallback rule"], answers);
        Assert.Equal(1, second.AnswerCount);
        Assert.Equal(2, twice.AnswerCount);
    }

    [Fact]
    public async Task OnCall_counts_requests_that_an_earlier_rule_answered()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().OnCall(1).RespondWithText("first");
        fake.Setup().OnCall(2).RespondWithText("second");
        fake.Setup().OnCall(3).RespondWithText("third");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        Assert.Equal("first", await AskAsync(chat, "hi"));
        Assert.Equal("second", await AskAsync(chat, "hi"));
        Assert.Equal("third", await AskAsync(chat, "hi"));
    }

    [Fact]
    public async Task Rules_answer_with_a_reply_computed_from_the_request()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWith(request => FakeReply.WithText($"echo: {request.LastUserMessage} ({request.Model})"));
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o-mini");

        Assert.Equal("echo: ping (gpt-4o-mini)", await AskAsync(chat, "ping"));
    }

    [Fact]
    public async Task RequireScript_reports_an_unexpected_request_clearly()
    {
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { RequireScript = true });
        fake.Setup().ForModel("gpt-4o").WhenLastUserMessageContains("weather").RespondWithText("sunny");
        var chat = OpenAITestClients.InMemory(fake, new ClientRetryPolicy(0)).GetChatClient("gpt-4o-mini");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("tell me a joke")]));

        Assert.Equal(400, error.Status);
        Assert.Contains("no script rule matched POST /v1/chat/completions model=gpt-4o-mini", error.Message, StringComparison.Ordinal);
        Assert.Contains("tell me a joke", error.Message, StringComparison.Ordinal);
        Assert.Contains("rule #1: model gpt-4o, last user message contains \"weather\"", error.Message, StringComparison.Ordinal);
        var unexpected = Assert.Single(fake.UnexpectedRequests);
        Assert.Equal("gpt-4o-mini", unexpected.Model);
        Assert.True(unexpected.WasUnexpected);

        Assert.Equal("sunny", await AskAsync(OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o"), "weather?"));
        Assert.Single(fake.UnexpectedRequests);
    }

    [Fact]
    public async Task Reset_forgets_rules_and_requests()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("scripted");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        Assert.Equal("scripted", await AskAsync(chat, "hi"));

        fake.Reset();

        Assert.Empty(fake.Requests);
        Assert.NotEqual("scripted", await AskAsync(chat, "hi"));
        Assert.Equal(1, Assert.Single(fake.Requests).Sequence);
    }

    private static Task<string> AskAsync(ChatClient chat, string message) => AskAsync(chat, [new UserChatMessage(message)]);

    private static async Task<string> AskAsync(ChatClient chat, ChatMessage[] messages)
    {
        ChatCompletion completion = await chat.CompleteChatAsync(messages);
        return completion.Content[0].Text;
    }
}
