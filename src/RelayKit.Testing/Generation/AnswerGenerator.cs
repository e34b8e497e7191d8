using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Bogus;
using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Generation;

/// <summary>
/// Makes the answer when no script rule gives one: deterministic text (same seed and request, same
/// text), a call of the forced tool with schema-valid arguments, a JSON value valid for the requested
/// output schema, or embedding vectors; and the parts a request asks for that a reply lacks (thinking,
/// log probabilities).
/// </summary>
internal sealed class AnswerGenerator(FakeUpstreamOptions options)
{
    // Generated thinking is a few sentences, cut to the request's budget.
    private const int ThinkingSentences = 4;

    // Bogus dates ("recent", "soon") count from its clock, the machine's by default; a fixed point keeps generated
    // dates (date-time, date and time fields of tool arguments and structured outputs) the same run after run,
    // as the same seed and request promise.
    private static readonly DateTime DateReference = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    // Building a Faker builds every one of its data sets (addresses, names, commerce...), which cost far more
    // than the answer it makes (see bench/README.md). A Faker's output depends only on its Randomizer (and its
    // fixed date reference), and setting Random hands the new one to every data set, so fakers are reused with a
    // fresh seeded Randomizer per use: the same text as a new Faker, without the construction. One pool per fake,
    // none shared.
    private readonly ConcurrentBag<Faker> _fakers = [];

    /// <summary>The generated reply for one choice of a request (<c>n</c> choices differ, choice 0 is the answer of a one-choice request).</summary>
    public FakeReply Generate(FakeRequest request, int choice = 0)
    {
        if (request.Endpoint == FakeEndpoint.OpenAIEmbeddings)
        {
            return FakeReply.WithEmbeddings(GenerateEmbeddings(request));
        }

        return WithFaker(Seed(request, choice), faker => Generate(request, choice, faker));
    }

    private FakeReply Generate(FakeRequest request, int choice, Faker faker)
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

        // Thinking counts against max_tokens, so the text gets what the thinking left.
        var thinking = request.RequestsThinking ? GenerateThinking(request, choice) : null;
        var limit = request.MaxOutputTokens - (thinking is null ? 0 : TokenCounter.Count(thinking));
        string text;
        if (request.OutputSchema is { } schema)
        {
            text = Protocols.WireJson.Write(SchemaArgumentGenerator.Generate(schema, faker, request.IsOutputSchemaStrict));
        }
        else
        {
            var sentences = Math.Max(1, options.GeneratedSentences + faker.Random.Int(-1, 1));
            text = faker.Lorem.Sentences(sentences, " ");
            if (request.RequiresJsonOutput)
            {
                // JSON mode promises a JSON object and no particular shape.
                text = Protocols.WireJson.Write(new JsonObject { ["answer"] = text });
            }
        }

        return FitToLimit(text, limit) with { Thinking = thinking };
    }

    /// <summary>
    /// Adds what the request asks for and the reply does not have: a thinking block when thinking is on (Anthropic),
    /// log probabilities of the text when they are asked for (OpenAI).
    /// </summary>
    public FakeReply Complete(FakeReply reply, FakeRequest request, int choice)
    {
        if (request.RequestsThinking && request.Endpoint == FakeEndpoint.AnthropicMessages && reply.Thinking is null && reply.RedactedThinking is null)
        {
            reply = reply with { Thinking = GenerateThinking(request, choice) };
        }

        if (request.TopLogprobs is { } top && reply.Logprobs is null && request.WireFormat == FakeWireFormat.OpenAI)
        {
            reply = reply with { Logprobs = LogprobGenerator.For(reply.Text ?? "", top, StableHash.Of(Seed(request, choice), "logprobs")) };
        }

        return reply;
    }

    /// <summary>Cuts text to the request's output cap, as a model that hits it does (finish reason length).</summary>
    public static FakeReply FitToLimit(string text, int? maxOutputTokens)
    {
        if (maxOutputTokens is not { } max || TokenCounter.Count(text) <= max)
        {
            return FakeReply.WithText(text);
        }

        // No room left (thinking used the whole cap): no text, and the model stopped at the limit.
        if (max <= 0)
        {
            return FakeReply.WithText("", FakeFinishReason.Length);
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

    /// <summary>
    /// Thinking within the budget: <c>budget_tokens</c>, or for adaptive thinking half of <c>max_tokens</c>, so that
    /// the text still has room.
    /// </summary>
    private string GenerateThinking(FakeRequest request, int choice)
    {
        var budget = request.ThinkingBudgetTokens ?? Math.Max(1, (request.MaxOutputTokens ?? 2048) / 2);
        var thinking = WithFaker(StableHash.Of(Seed(request, choice), "thinking"), faker => faker.Lorem.Sentences(ThinkingSentences, " "));
        return FitToLimit(thinking, budget).Text!;
    }

    /// <summary>Runs <paramref name="use"/> on a pooled faker seeded with <paramref name="seed"/>.</summary>
    private T WithFaker<T>(int seed, Func<Faker, T> use)
    {
        var faker = _fakers.TryTake(out var pooled) ? pooled : new Faker { DateTimeReference = DateReference };
        try
        {
            faker.Random = new Randomizer(seed);
            return use(faker);
        }
        finally
        {
            _fakers.Add(faker);
        }
    }

    /// <summary>The seed of one choice; choice 0 keeps the seed answers had before <c>n</c> was supported, so they stay the same.</summary>
    private int Seed(FakeRequest request, int choice) => choice == 0
        ? StableHash.Of(options.Seed, request.Model, request.Endpoint.ToString(), request.PromptText)
        : StableHash.Of(options.Seed, request.Model, request.Endpoint.ToString(), request.PromptText, choice.ToString(System.Globalization.CultureInfo.InvariantCulture));

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
