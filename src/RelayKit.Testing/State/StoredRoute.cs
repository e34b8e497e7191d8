namespace RelayKit.Testing.State;

/// <summary>One of the stored-state operations, read from a request's path and method.</summary>
internal readonly record struct StoredRoute(StoredOperation Operation, string? Id)
{
    private const string Completions = "/v1/chat/completions";
    private const string Responses = "/v1/responses/";

    public FakeEndpoint Endpoint => Operation switch
    {
        StoredOperation.ListChatCompletions or StoredOperation.GetChatCompletion or StoredOperation.UpdateChatCompletion
            or StoredOperation.DeleteChatCompletion or StoredOperation.ListChatCompletionMessages => FakeEndpoint.OpenAIStoredChatCompletions,
        _ => FakeEndpoint.OpenAIStoredResponses,
    };

    /// <summary>
    /// Reads a stored-state path. <paramref name="allowedMethods"/> names the methods the path takes whatever the
    /// request's method (<see langword="null"/> when it is not a stored-state path), so a wrong method is a 405 with
    /// its <c>Allow</c> header and an unknown path a 404.
    /// </summary>
    public static StoredRoute? Match(string path, string method, out string? allowedMethods)
    {
        var (get, post, delete) = (method == "GET", method == "POST", method == "DELETE");
        StoredOperation? operation = null;
        string? id = null;
        allowedMethods = null;
        if (path == Completions)
        {
            // POST here is the create, which is not a stored-state operation.
            allowedMethods = "GET, POST";
            operation = get ? StoredOperation.ListChatCompletions : null;
        }
        else if (path.StartsWith(Completions + "/", StringComparison.Ordinal))
        {
            var rest = path[(Completions.Length + 1)..].Split('/');
            id = rest[0];
            (allowedMethods, operation) = rest switch
            {
                [_] => ("GET, POST, DELETE", get ? StoredOperation.GetChatCompletion : post ? StoredOperation.UpdateChatCompletion : delete ? StoredOperation.DeleteChatCompletion : (StoredOperation?)null),
                [_, "messages"] => ("GET", get ? StoredOperation.ListChatCompletionMessages : null),
                _ => (null, null),
            };
        }
        else if (path.StartsWith(Responses, StringComparison.Ordinal))
        {
            var rest = path[Responses.Length..].Split('/');
            id = rest[0];
            (allowedMethods, operation) = rest switch
            {
                [_] => ("GET, DELETE", get ? StoredOperation.GetResponse : delete ? StoredOperation.DeleteResponse : (StoredOperation?)null),
                [_, "cancel"] => ("POST", post ? StoredOperation.CancelResponse : null),
                [_, "input_items"] => ("GET", get ? StoredOperation.ListResponseInputItems : null),
                _ => (null, null),
            };
        }

        if (id == "")
        {
            allowedMethods = null;
        }

        return allowedMethods is not null && operation is { } op ? new StoredRoute(op, id is null ? null : Uri.UnescapeDataString(id)) : null;
    }
}
