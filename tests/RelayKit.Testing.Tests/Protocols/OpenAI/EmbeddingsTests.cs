using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI.Embeddings;
using RelayKit.Testing.Tests.Tokens;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary><c>POST /v1/embeddings</c> through the SDK (which always asks for base64) and as plain floats.</summary>
public sealed class EmbeddingsTests
{
    [Fact]
    public async Task The_sdk_gets_base64_vectors_of_the_requested_dimensions()
    {
        await using var fake = new FakeUpstream();
        var client = OpenAITestClients.InMemory(fake).GetEmbeddingClient("text-embedding-3-small");

        OpenAIEmbeddingCollection result = await client.GenerateEmbeddingsAsync(
            ["first input", "second input", "first input"], new global::OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = 256 });

        Assert.Equal("base64", (string)fake.Requests.Single().Body!["encoding_format"]!);
        Assert.Equal(3, result.Count);
        Assert.Equal([0, 1, 2], result.Select(e => e.Index));
        var vectors = result.Select(e => e.ToFloats().ToArray()).ToList();
        Assert.All(vectors, v => Assert.Equal(256, v.Length));
        Assert.All(vectors, v => Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 4));
        Assert.Equal(vectors[0], vectors[2]);
        Assert.NotEqual(vectors[0], vectors[1]);
        Assert.Equal("text-embedding-3-small", result.Model);
        Assert.Equal(O200k.Count("first input") * 2 + O200k.Count("second input"), result.Usage.InputTokenCount);
        Assert.Equal(result.Usage.InputTokenCount, result.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Float_and_base64_encodings_carry_the_same_vector()
    {
        await using var fake = new FakeUpstream();
        var http = fake.CreateClient();

        var floats = await EmbedAsync(http, """{"model":"text-embedding-3-small","input":"same text","dimensions":32,"encoding_format":"float"}""");
        var defaulted = await EmbedAsync(http, """{"model":"text-embedding-3-small","input":"same text","dimensions":32}""");
        var base64 = await EmbedAsync(http, """{"model":"text-embedding-3-small","input":["same text"],"dimensions":32,"encoding_format":"base64"}""");

        var floatVector = floats["data"]![0]!["embedding"]!.AsArray().Select(n => (float)n!).ToArray();
        var defaultVector = defaulted["data"]![0]!["embedding"]!.AsArray().Select(n => (float)n!).ToArray();
        var decoded = MemoryMarshal.Cast<byte, float>(Convert.FromBase64String((string)base64["data"]![0]!["embedding"]!)).ToArray();
        Assert.Equal(32, floatVector.Length);
        Assert.Equal(floatVector, defaultVector);
        Assert.Equal(floatVector, decoded);
        Assert.Equal("list", (string)floats["object"]!);
        Assert.Equal("embedding", (string)floats["data"]![0]!["object"]!);
    }

    [Fact]
    public async Task Scripted_vectors_reach_a_Microsoft_Extensions_AI_embedding_generator()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().ForEndpoint(FakeEndpoint.OpenAIEmbeddings).RespondWithEmbeddings([0.25f, -0.5f, 1f], [1f, 0f, 0f]);
        IEmbeddingGenerator<string, Embedding<float>> generator =
            OpenAITestClients.InMemory(fake).GetEmbeddingClient("text-embedding-3-large").AsIEmbeddingGenerator();

        var embeddings = await generator.GenerateAsync(["a", "b"]);

        Assert.Equal([0.25f, -0.5f, 1f], embeddings[0].Vector.ToArray());
        Assert.Equal([1f, 0f, 0f], embeddings[1].Vector.ToArray());
        Assert.Equal(2, embeddings.Usage?.InputTokenCount);
    }

    private static async Task<JsonNode> EmbedAsync(HttpClient http, string body)
    {
        using var response = await OpenAITestClients.PostJsonAsync(http, "/v1/embeddings", body);
        Assert.Equal(200, (int)response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }
}
