namespace RelayKit.Testing;

/// <summary>
/// Settings of a cassette: the file a <see cref="FakeUpstream"/> records real traffic into and replays
/// it from. Set <see cref="FakeUpstreamOptions.Cassette"/> to use one; the cassette then answers
/// before any script rule or the generator.
/// </summary>
/// <example>
/// <code>
/// await using var fake = new FakeUpstream(new FakeUpstreamOptions
/// {
///     Cassette = new CassetteOptions
///     {
///         Directory = "cassettes",
///         Name = "weather-chat",
///         Mode = CassetteRecordMode.Once,
///         RecordFrom = new Uri("https://api.openai.com/"),
///     },
/// });
/// </code>
/// </example>
public sealed class CassetteOptions
{
    /// <summary>The name of the environment variable that overrides <see cref="Mode"/> by default.</summary>
    public const string DefaultModeOverrideVariable = "RELAYKIT_CASSETTE_MODE";

    /// <summary>The folder that holds the cassette files; created when the first recording is written.</summary>
    public string Directory { get; set; } = "";

    /// <summary>
    /// The cassette's name: one file per test or per named set, <c>{Directory}/{Name}.json</c>.
    /// Slashes make subfolders.
    /// </summary>
    public string Name { get; set; } = "";

    /// <summary>When to record and when to replay; <see cref="CassetteRecordMode.Once"/> by default.</summary>
    public CassetteRecordMode Mode { get; set; } = CassetteRecordMode.Once;

    /// <summary>
    /// The environment variable whose value (<c>none</c>, <c>once</c>, <c>new_episodes</c>, <c>all</c>)
    /// overrides <see cref="Mode"/> when set, so CI runs <c>none</c> whatever a test says;
    /// <see langword="null"/> turns the override off.
    /// </summary>
    public string? ModeOverrideVariable { get; set; } = DefaultModeOverrideVariable;

    /// <summary>
    /// The real upstream to record from, such as <c>https://api.openai.com/</c> or a relay's base URL.
    /// Request paths (<c>/v1/...</c>) are appended to it. Required by every mode that records.
    /// </summary>
    public Uri? RecordFrom { get; set; }

    /// <summary>
    /// The handler that reaches <see cref="RecordFrom"/>; a <see cref="SocketsHttpHandler"/> without
    /// decompression, redirects or cookies when <see langword="null"/>. Set it to record through an
    /// in-memory server. The cassette does not dispose it.
    /// </summary>
    public HttpMessageHandler? RecordHandler { get; set; }

    /// <summary>How fast recorded answers replay; <see cref="CassetteSpeed.Instant"/> by default.</summary>
    public CassetteSpeed Speed { get; set; } = CassetteSpeed.Instant;

    /// <summary>
    /// Whether a recorded answer may replay again once every identical recorded request has been
    /// replayed (the last one repeats). Off by default: identical requests replay in recorded order, each once.
    /// </summary>
    public bool AllowPlaybackRepeats { get; set; }

    /// <summary>
    /// Body paths left out of request matching, such as <c>temperature</c>, <c>messages[*].name</c> or
    /// <c>tools[*].function.description</c>. By default the volatile parts that do not change the answer:
    /// <c>stream</c> (so a streamed recording answers a non-streamed request and the reverse),
    /// <c>stream_options</c>, <c>user</c>, <c>metadata</c>, <c>store</c>, <c>safety_identifier</c>,
    /// <c>prompt_cache_key</c>.
    /// </summary>
    public IList<string> IgnoreJsonPaths { get; } =
        ["stream", "stream_options", "user", "metadata", "store", "safety_identifier", "prompt_cache_key"];

    /// <summary>
    /// Request headers that take part in matching (names, <c>*</c> as a wildcard). By default only the
    /// ones that change an answer: <c>anthropic-beta</c> and <c>openai-beta</c>.
    /// </summary>
    public IList<string> MatchHeaders { get; } = ["anthropic-beta", "openai-beta"];

    /// <summary>
    /// Request headers never matched even when <see cref="MatchHeaders"/> names them (<c>*</c> as a
    /// wildcard): SDK telemetry (<c>x-stainless-*</c>), tracing, request ids and transport headers.
    /// </summary>
    public IList<string> IgnoreHeaders { get; } =
    [
        "x-stainless-*", "user-agent", "traceparent", "tracestate", "baggage", "request-id", "x-request-id",
        "x-client-request-id", "idempotency-key", "x-ms-*", "accept", "accept-encoding", "content-type",
        "content-length", "host", "connection",
    ];

    /// <summary>
    /// Extra headers whose values are replaced by <c>[redacted]</c> before anything is written, in
    /// requests and responses. <c>Authorization</c>, <c>x-api-key</c>, <c>api-key</c>,
    /// <c>openai-organization</c>, <c>openai-project</c> and cookies are always redacted.
    /// </summary>
    public IList<string> RedactHeaders { get; } = [];

    /// <summary>
    /// Extra query parameters whose values are replaced by <c>[redacted]</c> before anything is written (patterns as in
    /// <see cref="RedactHeaders"/>). <c>key</c> (Gemini's), <c>api_key</c>, <c>api-key</c>, <c>apikey</c>,
    /// <c>access_token</c>, <c>token</c>, <c>client_secret</c>, <c>secret</c>, <c>password</c>, <c>sig</c> and
    /// <c>signature</c> are always redacted. Requests are matched after the same redaction; the recording itself
    /// goes upstream with the real values.
    /// </summary>
    public IList<string> RedactQueryParameters { get; } = [];

    /// <summary>
    /// Body paths whose values are replaced by <c>[redacted]</c> before anything is written, in the
    /// request body, the response body and every streamed event (for example <c>user</c> or
    /// <c>metadata.customer_id</c>). Requests are matched after the same redaction.
    /// </summary>
    public IList<string> RedactJsonPaths { get; } = [];

    /// <summary>The cassette file's full path.</summary>
    public string FilePath
    {
        get
        {
            var name = Name.Trim().Replace('\\', '/');
            if (!name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                name += ".json";
            }

            return Path.GetFullPath(Path.Combine(Directory, name));
        }
    }

    /// <summary>Checks the settings and throws <see cref="ArgumentException"/> naming the first problem.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("CassetteOptions.Directory is required: the folder that holds the cassette files.", nameof(Directory));
        }

        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException("CassetteOptions.Name is required: one cassette file per test or per named set.", nameof(Name));
        }

        if (Name.Split('/', '\\').Any(part => part is "." or ".." || part.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0))
        {
            throw new ArgumentException($"Cassette name '{Name}' is not a valid relative file name.", nameof(Name));
        }

        if (RecordFrom is { IsAbsoluteUri: false })
        {
            throw new ArgumentException("CassetteOptions.RecordFrom must be an absolute URL such as https://api.openai.com/.", nameof(RecordFrom));
        }
    }
}
