using System.Text.Json.Nodes;

namespace RelayKit.Testing.State;

/// <summary>
/// One chat completion or response the fake keeps, as the real APIs keep them for later retrieval.
/// Mutable parts (<see cref="Json"/>, <see cref="Metadata"/>, <see cref="Background"/>) change only under
/// <see cref="AnswerStore"/>'s lock; the arrays are never changed once stored and are cloned when handed out.
/// </summary>
internal sealed class StoredAnswer
{
    /// <summary>The answer's id (<c>chatcmpl-…</c> or <c>resp_…</c>).</summary>
    public required string Id { get; init; }

    /// <summary><see cref="FakeEndpoint.OpenAIChatCompletions"/> or <see cref="FakeEndpoint.OpenAIResponses"/>.</summary>
    public required FakeEndpoint Endpoint { get; init; }

    public required string Model { get; init; }

    public required DateTimeOffset StoredAt { get; init; }

    /// <summary>The object a retrieval returns, as JSON text; an update replaces it.</summary>
    public required string Json { get; set; }

    public required Dictionary<string, string> Metadata { get; set; }

    /// <summary>Chat: the request's messages, each with its id. Responses: the request's own input items, each with its id.</summary>
    public required JsonArray Items { get; init; }

    /// <summary>Responses: the whole input (earlier turns included) followed by the output, where a next turn starts.</summary>
    public JsonArray? Conversation { get; init; }

    public ResponseBackground Background { get; set; }

    /// <summary>Its order among everything the store has held; lists sort by it.</summary>
    public long Sequence { get; set; }
}
