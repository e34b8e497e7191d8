using System.Text.Json.Nodes;

namespace RelayKit.Testing;

/// <summary>
/// A chat completion (created with <c>store: true</c>) or a response (created without <c>store: false</c>)
/// that the fake keeps, as <c>GET /v1/chat/completions/{id}</c> or <c>GET /v1/responses/{id}</c> would return it
/// when this snapshot was taken. Listed by <see cref="FakeUpstream.StoredAnswers"/>.
/// </summary>
public sealed class FakeStoredAnswer
{
    internal FakeStoredAnswer(string id, FakeEndpoint endpoint, string model, DateTimeOffset storedAt, IReadOnlyDictionary<string, string> metadata, string json)
    {
        Id = id;
        Endpoint = endpoint;
        Model = model;
        StoredAt = storedAt;
        Metadata = metadata;
        Json = json;
    }

    /// <summary>The id, <c>chatcmpl-…</c> or <c>resp_…</c>.</summary>
    public string Id { get; }

    /// <summary><see cref="FakeEndpoint.OpenAIChatCompletions"/> or <see cref="FakeEndpoint.OpenAIResponses"/>: the endpoint that created it.</summary>
    public FakeEndpoint Endpoint { get; }

    /// <summary>The model the request asked for.</summary>
    public string Model { get; }

    /// <summary>When the fake stored it, from the fake's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset StoredAt { get; }

    /// <summary>Its metadata, as the request set it or a later update replaced it.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The stored object as JSON text, what a retrieval returns.</summary>
    public string Json { get; }

    /// <summary>The stored object, parsed (a new tree on each call).</summary>
    public JsonNode Body => JsonNode.Parse(Json)!;

    /// <inheritdoc />
    public override string ToString() => $"{Endpoint} {Id} model={Model}";
}
