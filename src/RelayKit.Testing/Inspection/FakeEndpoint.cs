namespace RelayKit.Testing;

/// <summary>The API endpoint a request to the fake upstream addressed.</summary>
public enum FakeEndpoint
{
    /// <summary>A path or method the fake does not serve.</summary>
    Unknown,

    /// <summary>OpenAI <c>POST /v1/chat/completions</c>.</summary>
    OpenAIChatCompletions,

    /// <summary>OpenAI <c>POST /v1/responses</c>.</summary>
    OpenAIResponses,

    /// <summary>OpenAI <c>POST /v1/embeddings</c>.</summary>
    OpenAIEmbeddings,

    /// <summary>OpenAI <c>GET /v1/models</c>.</summary>
    OpenAIModels,

    /// <summary>Anthropic <c>POST /v1/messages</c>.</summary>
    AnthropicMessages,

    /// <summary>Anthropic <c>POST /v1/messages/count_tokens</c>.</summary>
    AnthropicCountTokens,

    /// <summary>Anthropic <c>GET /v1/models</c> (a models request carrying <c>anthropic-version</c>).</summary>
    AnthropicModels,

    /// <summary>OpenAI <c>GET /v1/models/{model}</c>.</summary>
    OpenAIModelRetrieve,

    /// <summary>Anthropic <c>GET /v1/models/{model_id}</c> (a model request carrying <c>anthropic-version</c>).</summary>
    AnthropicModelRetrieve,

    /// <summary>
    /// OpenAI stored chat completions: <c>GET /v1/chat/completions</c> (list), <c>GET</c>, <c>POST</c> (metadata)
    /// and <c>DELETE /v1/chat/completions/{id}</c>, <c>GET /v1/chat/completions/{id}/messages</c>.
    /// </summary>
    OpenAIStoredChatCompletions,

    /// <summary>
    /// OpenAI stored responses: <c>GET</c> and <c>DELETE /v1/responses/{id}</c>, <c>POST /v1/responses/{id}/cancel</c>,
    /// <c>GET /v1/responses/{id}/input_items</c>.
    /// </summary>
    OpenAIStoredResponses,
}
