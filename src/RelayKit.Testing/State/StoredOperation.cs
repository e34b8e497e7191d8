namespace RelayKit.Testing.State;

/// <summary>The stored-state operations the fake serves, one per path and method.</summary>
internal enum StoredOperation
{
    /// <summary><c>GET /v1/chat/completions</c>.</summary>
    ListChatCompletions,

    /// <summary><c>GET /v1/chat/completions/{id}</c>.</summary>
    GetChatCompletion,

    /// <summary><c>POST /v1/chat/completions/{id}</c> (metadata only).</summary>
    UpdateChatCompletion,

    /// <summary><c>DELETE /v1/chat/completions/{id}</c>.</summary>
    DeleteChatCompletion,

    /// <summary><c>GET /v1/chat/completions/{id}/messages</c>.</summary>
    ListChatCompletionMessages,

    /// <summary><c>GET /v1/responses/{id}</c>.</summary>
    GetResponse,

    /// <summary><c>DELETE /v1/responses/{id}</c>.</summary>
    DeleteResponse,

    /// <summary><c>POST /v1/responses/{id}/cancel</c>.</summary>
    CancelResponse,

    /// <summary><c>GET /v1/responses/{id}/input_items</c>.</summary>
    ListResponseInputItems,
}
