namespace RelayKit.Testing;

/// <summary>Settings of a <see cref="FakeUpstream"/>.</summary>
public sealed class FakeUpstreamOptions
{
    /// <summary>
    /// The seed of the generated answers: the same seed and the same request give the same text,
    /// tool arguments and embeddings, run after run.
    /// </summary>
    public int Seed { get; set; } = 42;

    /// <summary>The clock for delays, timestamps and rate-limit windows; <see cref="TimeProvider.System"/> by default.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// When set, a request that no script rule matches is answered with an error that names the
    /// request and is listed in <see cref="FakeUpstream.UnexpectedRequests"/>, instead of a generated answer.
    /// </summary>
    public bool RequireScript { get; set; }

    /// <summary>
    /// The models the OpenAI format lists (<c>GET /v1/models</c>) and retrieves (<c>GET /v1/models/{id}</c>; any
    /// other id is a 404 <c>model_not_found</c>). The fake answers requests for any model name whatever this holds.
    /// </summary>
    public IList<string> Models { get; } =
    [
        "gpt-5.5", "gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "text-embedding-3-large",
    ];

    /// <summary>
    /// The models the Anthropic format (a request carrying <c>anthropic-version</c>) lists, newest first, in pages
    /// (<c>limit</c>, <c>after_id</c>, <c>before_id</c>) and retrieves (<c>GET /v1/models/{id}</c>; any other id is a
    /// 404 <c>not_found_error</c>). The fake answers requests for any model name whatever this holds.
    /// </summary>
    public IList<string> AnthropicModels { get; } =
    [
        "claude-opus-4-8", "claude-sonnet-4-5", "claude-haiku-4-5",
    ];

    /// <summary>The length of generated embedding vectors when the request sets no <c>dimensions</c>.</summary>
    public int EmbeddingDimensions { get; set; } = 1536;

    /// <summary>The per-minute request limit the rate-limit headers report and count down from.</summary>
    public int RequestsPerMinute { get; set; } = 10_000;

    /// <summary>The per-minute token limit the rate-limit headers report and count down from.</summary>
    public int TokensPerMinute { get; set; } = 2_000_000;

    /// <summary>
    /// How many chat completions (<c>store: true</c>) and responses (stored unless <c>store: false</c>) the fake
    /// keeps for the stored-state endpoints and <c>previous_response_id</c>; storing one more forgets the oldest.
    /// 0 stores nothing. Default 1,000.
    /// </summary>
    public int MaxStoredAnswers { get; set; } = 1_000;

    /// <summary>Typical number of sentences in a generated answer (the generator varies it by one either way).</summary>
    public int GeneratedSentences { get; set; } = 2;

    /// <summary>
    /// A cassette that answers every request before script rules and the generator: it replays
    /// recorded answers and, as its mode allows, records new ones from a real upstream.
    /// See <see cref="FakeUpstream.Cassette"/> for what it replayed, recorded and missed.
    /// </summary>
    public CassetteOptions? Cassette { get; set; }
}
