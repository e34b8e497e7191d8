namespace RelayKit.AspNetCore.Budgets;

/// <summary>The wire format of a request body whose worst-case cost is estimated.</summary>
internal enum PromptFormat
{
    /// <summary>OpenAI <c>POST /v1/chat/completions</c>.</summary>
    OpenAIChat,

    /// <summary>OpenAI <c>POST /v1/responses</c>.</summary>
    OpenAIResponses,

    /// <summary>OpenAI <c>POST /v1/embeddings</c>.</summary>
    OpenAIEmbeddings,

    /// <summary>Anthropic <c>POST /v1/messages</c>.</summary>
    AnthropicMessages,
}
