using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Bogus;
using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Generation;

/// <summary>
/// Makes the answer when no script rule gives one: deterministic text (same seed and request, same
/// text), a call of the forced tool with schema-valid arguments, or embedding vectors.
/// </summary>
internal sealed class AnswerGenerator(FakeUpstreamOptions options)
{
    // Building a Faker builds every one of its data sets (addresses, names, commerce...), which cost far more
    // than the answer it makes (see bench/README.md). A Faker's output depends only on its Randomizer, and
    // setting Random hands the new one to every data set, so fakers are reused with a fresh seeded Randomizer
    // per request: the same text as a new Faker, without the construction. One pool per fake, none shared.
    private readonly ConcurrentBag<Faker> _fakers = [];

    public FakeReply Generate(FakeRequest request)
    {
        if (request.Endpoint == FakeEndpoint.OpenAIEmbeddings)
        {
            return FakeReply.WithEmbeddings(GenerateEmbeddings(request));
        }

        var faker = _fakers.TryTake(out var pooled) ? pooled : new Faker();
        try
        {
            faker.Random = new Randomizer(StableHash.Of(options.Seed, request.Model, request.Endpoint.ToString(), request.PromptText));
            return Generate(request, faker);
        }
        finally
        {
            _fakers.Add(faker);
        }
    }

    private FakeReply Generate(FakeRequest request, Faker faker)
    {
        var tool = request.ForcedToolName is { } forced
            ? request.Tools.FirstOrDefault(t => t.Name == forced) ?? new FakeTool(forced, null)
            : request.RequiresToolCall && request.Tools.Count > 0
                ? request.Tools[faker.Random.Int(0, request.Tools.Count - 1)]
                : null;
        if (tool is not null)
        {
            var arguments = SchemaArgumentGenerator.Generate(tool.Parameters, faker);
            return FakeReply.WithToolCalls(new FakeToolCall(tool.Name, Protocols.WireJson.Write(arguments)));
        }

        var sentences = Math.Max(1, options.GeneratedSentences + faker.Random.Int(-1, 1));
        var text = faker.Lorem.Sentences(sentences, " ");
        return FitToLimit(text, request.MaxOutputTokens);
    }

    /// <summary>Cuts text to the request's output cap, as a model that hits it does (finish reason length).</summary>
    public static FakeReply FitToLimit(string text, int? maxOutputTokens)
    {
        if (maxOutputTokens is not { } max || max <= 0 || TokenCounter.Count(text) <= max)
        {
            return FakeReply.WithText(text);
        }

        // A piece is usually one token, but a character made of several byte-level tokens is one piece,
        // so drop pieces until the count fits.
        var pieces = TokenCounter.SplitIntoTokens(text).Take(max).ToList();
        var cut = string.Concat(pieces);
        while (pieces.Count > 1 && TokenCounter.Count(cut) > max)
        {
            pieces.RemoveAt(pieces.Count - 1);
            cut = string.Concat(pieces);
        }

        return FakeReply.WithText(cut, FakeFinishReason.Length);
    }

    private float[][] GenerateEmbeddings(FakeRequest request)
    {
        var dimensions = request.Body?["dimensions"] is JsonValue v && v.TryGetValue<int>(out var d) && d > 0
            ? d
            : options.EmbeddingDimensions;
        var vectors = new float[request.EmbeddingInputs.Count][];
        for (var i = 0; i < vectors.Length; i++)
        {
            // Each input gets its own stream of numbers so that equal inputs embed equally.
            var random = new Randomizer(StableHash.Of(options.Seed, request.Model, request.EmbeddingInputs[i]));
            var vector = new float[dimensions];
            double norm = 0;
            for (var j = 0; j < dimensions; j++)
            {
                vector[j] = (float)(random.Double() * 2 - 1);
                norm += vector[j] * vector[j];
            }

            var scale = (float)(1 / Math.Sqrt(norm));
            for (var j = 0; j < dimensions; j++)
            {
                vector[j] *= scale;
            }

            vectors[i] = vector;
        }

        return vectors;
    }
}
