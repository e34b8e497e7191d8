using Anthropic.Models.Messages;
using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>
/// <c>Usage:RecordContent</c>: with it on, a request's record keeps its prompt (as <c>role: text</c> paragraphs) and the
/// answer's text, secrets redacted, cut to <c>MaxContentLength</c>, in every store and in <c>/relay/usage</c>; with it
/// off, neither.
/// </summary>
public sealed class RecordContentTests
{
    private const string Secret = "sk-live-0123456789abcdefXYZ";
    private const string Answer = "Hello there, the token sk-proj-ABCDEFGHIJKL0123456789 stays private.";
    private const string ScrubbedAnswer = "Hello there, the token [redacted] stays private.";
    private const string ExpectedPrompt = "system: Be brief.\n\nuser: My key is [redacted], say hi";

    private static FakeRelay Create(bool on, Action<Dictionary<string, string?>>? more = null)
    {
        var relay = FakeRelay.Create(settings =>
        {
            settings["ModelRelay:Usage:RecordContent"] = on ? "true" : "false";
            more?.Invoke(settings);
        });
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText(Answer);
        relay.Fake.Setup().ForModel("claude-opus-4-8").RespondWithText(Answer);
        return relay;
    }

    private static ChatMessage[] OpenAiPrompt => [new SystemChatMessage("Be brief."), new UserChatMessage($"My key is {Secret}, say hi")];

    private static MessageCreateParams AnthropicPrompt => new()
    {
        Model = "claude-code-opus-4.8",
        MaxTokens = 100,
        System = "Be brief.",
        Messages = [new UserMessageParam($"My key is {Secret}, say hi")],
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OpenAI_answers_keep_the_prompt_and_the_completion_scrubbed(bool streamed)
    {
        await using var relay = Create(on: true);
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        var text = "";
        if (streamed)
        {
            await foreach (var update in chat.CompleteChatStreamingAsync(OpenAiPrompt))
            {
                text += string.Concat(update.ContentUpdate.Select(part => part.Text));
            }
        }
        else
        {
            text = (await chat.CompleteChatAsync(OpenAiPrompt)).Value.Content[0].Text;
        }

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(Answer, text);
        Assert.Equal(streamed, record.Streamed);
        Assert.Equal(ExpectedPrompt, record.Prompt);
        Assert.Equal(ScrubbedAnswer, record.Completion);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Anthropic_answers_keep_the_prompt_and_the_completion_scrubbed(bool streamed)
    {
        await using var relay = Create(on: true);
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);

        var text = "";
        if (streamed)
        {
            await foreach (var streamEvent in client.Messages.CreateStreaming(AnthropicPrompt))
            {
                if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var part))
                {
                    text += part.Text;
                }
            }
        }
        else
        {
            var message = await client.Messages.Create(AnthropicPrompt);
            Assert.True(message.Content[0].TryPickText(out var block));
            text = block.Text;
        }

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(Answer, text);
        Assert.Equal(ExpectedPrompt, record.Prompt);
        Assert.Equal(ScrubbedAnswer, record.Completion);
    }

    [Fact]
    public async Task Content_is_cut_to_MaxContentLength_after_secrets_are_redacted()
    {
        await using var relay = Create(on: true, settings => settings["ModelRelay:Usage:MaxContentLength"] = "30");
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");

        await chat.CompleteChatAsync(OpenAiPrompt);

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(ExpectedPrompt[..30], record.Prompt);
        Assert.Equal(ScrubbedAnswer[..30], record.Completion);
    }

    [Fact]
    public async Task Off_keeps_neither_and_the_usage_page_shows_neither()
    {
        await using var relay = Create(on: false);
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        await chat.CompleteChatAsync(OpenAiPrompt);

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Null(record.Prompt);
        Assert.Null(record.Completion);

        var (status, body, _) = await RawRelayCall.GetAsync(relay.App.CreateClient(), "relay/usage", bearer: RelaySettings.AliceKey);
        Assert.Equal(200, status);
        var recent = Assert.Single(body.GetProperty("recent").EnumerateArray());
        Assert.False(recent.TryGetProperty("prompt", out _));
        Assert.False(recent.TryGetProperty("completion", out _));
    }

    [Fact]
    public async Task On_the_usage_page_shows_the_callers_own_prompt_and_completion()
    {
        await using var relay = Create(on: true);
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        await chat.CompleteChatAsync(OpenAiPrompt);
        await relay.WaitForRecordsAsync(1);

        var (status, body, _) = await RawRelayCall.GetAsync(relay.App.CreateClient(), "relay/usage", bearer: RelaySettings.AliceKey);
        Assert.Equal(200, status);
        var recent = Assert.Single(body.GetProperty("recent").EnumerateArray());
        Assert.Equal(ExpectedPrompt, recent.GetProperty("prompt").GetString());
        Assert.Equal(ScrubbedAnswer, recent.GetProperty("completion").GetString());
    }

    [Fact]
    public async Task The_SQLite_store_keeps_the_content()
    {
        var path = Path.Combine(Path.GetTempPath(), $"relaykit-content-{Guid.NewGuid():N}.db");
        try
        {
            await StoreKeepsContentAsync(settings =>
            {
                settings["ModelRelay:Usage:Store"] = "Sqlite";
                settings["ModelRelay:Usage:SqlitePath"] = path;
            });
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    [SkippableFact]
    public async Task The_PostgreSQL_store_keeps_the_content()
    {
        var connectionString = TestServers.RequirePostgres();
        var schema = "content_test_" + Guid.NewGuid().ToString("N")[..12];
        try
        {
            await StoreKeepsContentAsync(settings =>
            {
                settings["ModelRelay:Usage:Store"] = "PostgreSql";
                settings["ModelRelay:Usage:PostgreSqlConnectionString"] = connectionString;
                settings["ModelRelay:Usage:PostgreSqlSchema"] = schema;
            });
        }
        finally
        {
            await PostgreSqlTestSchema.DropAsync(connectionString, schema);
        }
    }

    [Fact]
    public async Task Responses_and_embeddings_prompts_read_as_text_with_images_named_not_copied()
    {
        await using var relay = Create(on: true);
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText(Answer);
        var http = relay.App.CreateClient();

        var (status, _, _) = await RawRelayCall.PostAsync(http, "/v1/responses", """
            {"model":"gpt-5.5","instructions":"Be brief.","input":[
              {"role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]},
              {"type":"function_call","call_id":"c1","name":"lookup","arguments":"{\"q\":\"cat\"}"},
              {"type":"function_call_output","call_id":"c1","output":"a cat"}]}
            """, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, status);
        (status, _, _) = await RawRelayCall.PostAsync(http, "/v1/embeddings", """{"model":"text-embedding-3-small","input":["first","second"]}""", bearer: RelaySettings.AliceKey);
        Assert.Equal(200, status);

        var records = await relay.WaitForRecordsAsync(2);
        var responses = Assert.Single(records, r => r.Operation != "embeddings");
        Assert.Equal("system: Be brief.\n\nuser: What is this?\n[image]\n\nassistant: lookup({\"q\":\"cat\"})\n\ntool: a cat", responses.Prompt);
        Assert.Equal(ScrubbedAnswer, responses.Completion);
        var embeddings = Assert.Single(records, r => r.Operation == "embeddings");
        Assert.Equal("first\nsecond", embeddings.Prompt);
        Assert.Equal("", embeddings.Completion);
    }

    private static async Task StoreKeepsContentAsync(Action<Dictionary<string, string?>> store)
    {
        await using var relay = Create(on: true, store);
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        await foreach (var _ in client.Messages.CreateStreaming(AnthropicPrompt))
        {
        }

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(ExpectedPrompt, record.Prompt);
        Assert.Equal(ScrubbedAnswer, record.Completion);
    }
}
