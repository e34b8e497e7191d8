using System.Text.Json.Nodes;

namespace RelayKit.Testing;

/// <summary>
/// One request the fake upstream received, as the test can read it back and assert on it.
/// Secret headers (<c>Authorization</c>, <c>x-api-key</c>, cookies, organization and project ids)
/// are redacted before the request is stored.
/// </summary>
public sealed class FakeRequest
{
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal FakeRequest()
    {
    }

    /// <summary>The 1-based order in which the fake received this request.</summary>
    public int Sequence { get; internal init; }

    /// <summary>When the fake received the request, from the fake's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset ReceivedAt { get; internal init; }

    /// <summary>The HTTP method.</summary>
    public string Method { get; internal init; } = "";

    /// <summary>The request path, without the mapping prefix.</summary>
    public string Path { get; internal init; } = "";

    /// <summary>The request headers, with secret values replaced by <c>[redacted]</c>.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; internal init; } =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The raw request body as text (empty for a request without a body).</summary>
    public string RawBody { get; internal init; } = "";

    /// <summary>The parsed JSON body, or <see langword="null"/> when the body was empty or not JSON.</summary>
    public JsonNode? Body { get; internal init; }

    /// <summary>The endpoint the request addressed.</summary>
    public FakeEndpoint Endpoint { get; internal init; }

    /// <summary>The wire format the request speaks.</summary>
    public FakeWireFormat WireFormat { get; internal init; }

    /// <summary>The <c>model</c> the request asked for, if any.</summary>
    public string? Model { get; internal init; }

    /// <summary>Whether the request asked for a streamed (SSE) answer.</summary>
    public bool IsStreaming { get; internal init; }

    /// <summary>Whether an OpenAI chat request set <c>stream_options.include_usage</c>.</summary>
    public bool IncludeUsage { get; internal init; }

    /// <summary>The text of the last user message, or <see langword="null"/> when there is none.</summary>
    public string? LastUserMessage { get; internal init; }

    /// <summary>The system prompt or instructions, if any.</summary>
    public string? SystemPrompt { get; internal init; }

    /// <summary>The function tools the request offered.</summary>
    public IReadOnlyList<FakeTool> Tools { get; internal init; } = [];

    /// <summary>
    /// The tool the request forces (OpenAI <c>tool_choice</c> naming a function, Anthropic
    /// <c>tool_choice</c> of type <c>tool</c>), or <see langword="null"/>.
    /// </summary>
    public string? ForcedToolName { get; internal init; }

    /// <summary>
    /// Whether the request requires some tool call without naming one (OpenAI <c>required</c>,
    /// Anthropic <c>any</c>).
    /// </summary>
    public bool RequiresToolCall { get; internal init; }

    /// <summary>The output token cap the request set, if any.</summary>
    public int? MaxOutputTokens { get; internal init; }

    /// <summary>The inputs of an embeddings request.</summary>
    public IReadOnlyList<string> EmbeddingInputs { get; internal init; } = [];

    /// <summary>
    /// Every prompt text in the request joined, which the fake counts as input tokens; for a Responses request with
    /// <c>previous_response_id</c>, the earlier turns it continues come first, as the real API counts them.
    /// </summary>
    public string PromptText { get; internal init; } = "";

    /// <summary>
    /// The JSON schema the answer must follow: Chat Completions <c>response_format.json_schema.schema</c>,
    /// Responses <c>text.format.schema</c>, Anthropic <c>output_config.format.schema</c>; <see langword="null"/> when none.
    /// </summary>
    public JsonNode? OutputSchema { get; internal init; }

    /// <summary>
    /// Whether the schema is strict (OpenAI <c>strict: true</c>; always on Anthropic): every property present,
    /// no others.
    /// </summary>
    public bool IsOutputSchemaStrict { get; internal init; }

    /// <summary>Whether the answer must be JSON: a JSON schema or OpenAI's <c>json_object</c> mode.</summary>
    public bool RequiresJsonOutput { get; internal init; }

    /// <summary>How many choices a Chat Completions request asked for (<c>n</c>); 1 otherwise.</summary>
    public int ChoiceCount { get; internal init; } = 1;

    /// <summary>
    /// How many alternatives per token the request asked log probabilities for (Chat <c>logprobs</c> with
    /// <c>top_logprobs</c>, Responses <c>include</c> of <c>message.output_text.logprobs</c>); <see langword="null"/>
    /// when it asked for none.
    /// </summary>
    public int? TopLogprobs { get; internal init; }

    /// <summary>Whether an Anthropic request turned extended thinking on (<c>thinking</c> of type <c>enabled</c> or <c>adaptive</c>).</summary>
    public bool RequestsThinking { get; internal init; }

    /// <summary>The thinking budget (<c>thinking.budget_tokens</c>); <see langword="null"/> for adaptive thinking or none.</summary>
    public int? ThinkingBudgetTokens { get; internal init; }

    /// <summary>Whether the request asked for thinking without its text (<c>display: omitted</c>): the block keeps only its signature.</summary>
    internal bool OmitsThinkingText { get; init; }

    /// <summary>What the request asked for, in a sentence, for failure messages.</summary>
    public string Describe() => $"{Method} {Path}" + (Model is null ? "" : $" model={Model}") +
        (LastUserMessage is null ? "" : $" last user message=\"{Truncate(LastUserMessage, 80)}\"");

    /// <summary>The description of the script rule that answered, or <see langword="null"/> for the default generator.</summary>
    public string? AnsweredBy { get; internal set; }

    /// <summary>
    /// Whether no script rule matched while <see cref="FakeUpstreamOptions.RequireScript"/> was on,
    /// so the fake answered with an error that names this request.
    /// </summary>
    public bool WasUnexpected { get; internal set; }

    /// <summary>Whether the caller went away (aborted the request) before the fake finished answering.</summary>
    public bool WasAborted { get; internal set; }

    /// <summary>The HTTP status the fake answered with.</summary>
    public int StatusCode { get; internal set; }

    /// <summary>Completes when the fake has finished with the request, answered or aborted.</summary>
    public Task Completion => _completed.Task;

    internal void MarkCompleted() => _completed.TrySetResult();

    private static string Truncate(string value, int length) =>
        value.Length <= length ? value : value[..length] + "…";

    /// <inheritdoc />
    public override string ToString() => Describe();
}
