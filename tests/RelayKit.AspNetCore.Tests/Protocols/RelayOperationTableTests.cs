using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Tests.Protocols;

/// <summary>The operation table: what each step reads of an operation, from one place.</summary>
public sealed class RelayOperationTableTests
{
    public static TheoryData<string, string, string?> OutputLimitFields => new()
    {
        // OpenAI's reasoning models refuse max_tokens; other OpenAI-compatible servers know only max_tokens.
        { "chat.completions", "gpt-5.5", "max_completion_tokens" },
        { "chat.completions", "GPT-5-mini", "max_completion_tokens" },
        { "chat.completions", "o3", "max_completion_tokens" },
        { "chat.completions", "O4-mini", "max_completion_tokens" },
        { "chat.completions", "gpt-4o", "max_tokens" },
        { "chat.completions", "ollama-llama3", "max_tokens" },
        { "chat.completions", "o", "max_tokens" },
        { "chat.completions", "deepseek-chat", "max_tokens" },
        { "responses", "gpt-5.5", "max_output_tokens" },
        { "messages", "claude-opus-4.8", "max_tokens" },
        { "embeddings", "text-embedding-3-small", null },
        { "messages.count_tokens", "claude-opus-4.8", null },
    };

    [Theory]
    [MemberData(nameof(OutputLimitFields))]
    public void The_output_limit_field_depends_on_the_operation_and_for_chat_on_the_model(string operation, string model, string? field) =>
        Assert.Equal(field, Operation(operation).OutputLimitField(model));

    [Fact]
    public void Each_operation_is_served_in_its_own_format_and_translated_only_where_the_other_format_has_a_counterpart()
    {
        Assert.Same(RelayOperation.ChatCompletions, RelayOperation.ChatCompletions.On(WireFormat.OpenAI));
        Assert.Same(RelayOperation.Messages, RelayOperation.ChatCompletions.On(WireFormat.Anthropic));
        Assert.Same(RelayOperation.Messages, RelayOperation.Responses.On(WireFormat.Anthropic));
        Assert.Same(RelayOperation.ChatCompletions, RelayOperation.Messages.On(WireFormat.OpenAI));
        Assert.Same(RelayOperation.Messages, RelayOperation.Messages.On(WireFormat.Anthropic));
        Assert.Null(RelayOperation.Embeddings.On(WireFormat.Anthropic));
        Assert.Null(RelayOperation.CountTokens.On(WireFormat.OpenAI));
        Assert.Throws<InvalidOperationException>(() => RelayOperation.Embeddings.TranslateBody(new JsonObject(), new RequestTranslationOptions("m")));
    }

    [Fact]
    public void Translating_a_body_uses_the_counterpart_s_translation()
    {
        var chat = new JsonObject
        {
            ["model"] = "claude-opus-4.8",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "Be brief." }, new JsonObject { ["role"] = "user", ["content"] = "Hi" }),
        };

        var messages = RelayOperation.ChatCompletions.TranslateBody(chat, new RequestTranslationOptions("claude-opus-4-8", 321));

        // A Messages request: the system prompt moves out of the messages, and the output cap the options give is set.
        Assert.Equal("Be brief.", messages["system"]!.GetValue<string>());
        Assert.Single(messages["messages"]!.AsArray());
        Assert.Equal("321", messages["max_tokens"]!.ToJsonString());
        Assert.Equal("claude-opus-4-8", messages["model"]!.GetValue<string>());
    }

    [Fact]
    public void Only_operations_with_a_prompt_are_metered_and_embeddings_have_their_own_GenAI_name()
    {
        Assert.Equal(
            [PromptFormat.OpenAIChat, PromptFormat.OpenAIResponses, PromptFormat.OpenAIEmbeddings, PromptFormat.AnthropicMessages],
            new[] { RelayOperation.ChatCompletions, RelayOperation.Responses, RelayOperation.Embeddings, RelayOperation.Messages }.Select(o => o.PromptFormat!.Value));
        Assert.All(new[] { RelayOperation.ChatCompletions, RelayOperation.Responses, RelayOperation.Embeddings, RelayOperation.Messages }, o => Assert.True(o.Metered));
        Assert.False(RelayOperation.CountTokens.Metered);
        Assert.False(RelayOperation.ListModels.Metered);
        Assert.Equal(GenAIOperationNames.Embeddings, RelayOperation.Embeddings.GenAIName);
        Assert.All(new[] { RelayOperation.ChatCompletions, RelayOperation.Responses, RelayOperation.Messages }, o => Assert.Equal(GenAIOperationNames.Chat, o.GenAIName));
    }

    private static RelayOperation Operation(string name) =>
        new[] { RelayOperation.ChatCompletions, RelayOperation.Responses, RelayOperation.Embeddings, RelayOperation.Messages, RelayOperation.CountTokens }
            .Single(o => o.Name == name);
}
