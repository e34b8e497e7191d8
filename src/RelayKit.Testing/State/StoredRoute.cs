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
    /// Reads a stored-state path. <paramref name="knownPath"/> says whether the path is one of them whatever the
    /// method, so a wrong method is a 405 and an unknown path a 404.
    /// </summary>
    public static StoredRoute? Match(string path, string method, out bool knownPath)
    {
        var (get, post, delete) = (method == "GET", method == "POST", method == "DELETE");
        StoredOperation? operation = null;
        string? id = null;
        knownPath = false;
        if (path == Completions)
        {
            knownPath = true;
            operation = get ? StoredOperation.ListChatCompletions : null;
        }
        else if (path.StartsWith(Completions + "/", StringComparison.Ordinal))
        {
            var rest = path[(Completions.Length + 1)..].Split('/');
            id = rest[0];
            (knownPath, operation) = rest switch
            {
                [_] => (true, get ? StoredOperation.GetChatCompletion : post ? StoredOperation.UpdateChatCompletion : delete ? StoredOperation.DeleteChatCompletion : (StoredOperation?)null),
                [_, "messages"] => (true, get ? StoredOperation.ListChatCompletionMessages : null),
                _ => (false, null),
            };
        }
        else if (path.StartsWith(Responses, StringComparison.Ordinal))
        {
            var rest = path[Responses.Length..].Split('/');
            id = rest[0];
            (knownPath, operation) = rest switch
            {
                [_] => (true, get ? StoredOperation.GetResponse : delete ? StoredOperation.DeleteResponse : (StoredOperation?)null),
                [_, "cancel"] => (true, post ? StoredOperation.CancelResponse : null),
                [_, "input_items"] => (true, get ? StoredOperation.ListResponseInputItems : null),
                _ => (false, null),
            };
        }

        knownPath &= id != "";
        return knownPath && operation is { } op ? new StoredRoute(op, id is null ? null : Uri.UnescapeDataString(id)) : null;
    }
}
