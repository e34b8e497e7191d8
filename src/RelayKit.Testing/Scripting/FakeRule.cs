namespace RelayKit.Testing;

/// <summary>
/// One scripted answer of the fake upstream: which requests it matches, what it answers and how
/// often. Made with <see cref="FakeUpstream.Setup"/>; each method narrows or configures the rule
/// and returns it, so a rule reads as one sentence.
/// </summary>
public sealed class FakeRule
{
    private readonly object _gate = new();
    private readonly List<Func<FakeRequest, bool>> _conditions = [];
    private readonly List<string> _description = [];
    private int _matchingRequests;
    private int _answered;
    private int? _onCall;
    private int? _times;
    private Func<FakeRequest, FakeReply>? _reply;
    private FakeFault? _fault;

    internal FakeRule(int order) => Order = order;

    internal int Order { get; }

    internal FakeFault? Fault => _fault;

    internal (int Events, FakeStreamGate Gate)? Hold { get; private set; }

    internal Func<FakeRequest, FakeReply>? Reply => _reply;

    /// <summary>How many requests this rule has answered.</summary>
    public int AnswerCount
    {
        get
        {
            lock (_gate)
            {
                return _answered;
            }
        }
    }

    /// <summary>Matches requests for <paramref name="modelPattern"/>; <c>*</c> matches any run of characters.</summary>
    /// <param name="modelPattern">A model name or a pattern such as <c>gpt-*</c>.</param>
    public FakeRule ForModel(string modelPattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPattern);
        return When(r => r.Model is not null && ModelPattern.IsMatch(modelPattern, r.Model), $"model {modelPattern}");
    }

    /// <summary>Matches requests to one endpoint.</summary>
    /// <param name="endpoint">The endpoint.</param>
    public FakeRule ForEndpoint(FakeEndpoint endpoint) => When(r => r.Endpoint == endpoint, endpoint.ToString());

    /// <summary>Matches requests whose last user message contains <paramref name="text"/> (ordinal, ignoring case).</summary>
    /// <param name="text">The text to look for.</param>
    public FakeRule WhenLastUserMessageContains(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return When(
            r => r.LastUserMessage?.Contains(text, StringComparison.OrdinalIgnoreCase) == true,
            $"last user message contains \"{text}\"");
    }

    /// <summary>
    /// Matches requests whose prompt contains <paramref name="text"/> (ordinal, ignoring case): any message of the
    /// conversation, the system prompt or instructions, tool definitions, and for a Responses request that names a
    /// <c>previous_response_id</c> the earlier turns it continues, as the real model would see them.
    /// </summary>
    /// <param name="text">The text to look for.</param>
    public FakeRule WhenPromptContains(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return When(r => r.PromptText.Contains(text, StringComparison.OrdinalIgnoreCase), $"prompt contains \"{text}\"");
    }

    /// <summary>Matches requests whose last user message satisfies <paramref name="predicate"/>.</summary>
    /// <param name="predicate">The test on the message text.</param>
    public FakeRule WhenLastUserMessage(Func<string, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return When(r => r.LastUserMessage is { } m && predicate(m), "last user message matches");
    }

    /// <summary>Matches requests that satisfy <paramref name="predicate"/>.</summary>
    /// <param name="predicate">The test on the request.</param>
    /// <param name="description">How the condition reads in failure messages.</param>
    public FakeRule When(Func<FakeRequest, bool> predicate, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        lock (_gate)
        {
            _conditions.Add(predicate);
            _description.Add(description ?? "custom condition");
        }

        return this;
    }

    /// <summary>
    /// Answers only the <paramref name="call"/>-th request (1-based) among those that match the rule's
    /// other conditions, for example the second attempt of a retried request.
    /// </summary>
    /// <param name="call">The 1-based call number.</param>
    public FakeRule OnCall(int call)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(call, 1);
        lock (_gate)
        {
            _onCall = call;
            _description.Add($"call {call}");
        }

        return this;
    }

    /// <summary>Answers at most <paramref name="times"/> requests, then lets later rules or the generator answer.</summary>
    /// <param name="times">How many requests the rule answers.</param>
    public FakeRule Times(int times)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        lock (_gate)
        {
            _times = times;
        }

        return this;
    }

    /// <summary>Answers with text.</summary>
    /// <param name="text">The assistant's text.</param>
    /// <param name="finishReason">Why the model stopped.</param>
    public FakeRule RespondWithText(string text, FakeFinishReason finishReason = FakeFinishReason.Stop)
    {
        ArgumentNullException.ThrowIfNull(text);
        return RespondWith(FakeReply.WithText(text, finishReason));
    }

    /// <summary>Answers with a JSON text, such as a pinned structured output (see <see cref="FakeReply.WithJson(string)"/>).</summary>
    /// <param name="json">A JSON text.</param>
    public FakeRule RespondWithJson(string json) => RespondWith(FakeReply.WithJson(json));

    /// <summary>Answers with a value serialized as JSON (the web defaults, camelCase, when <paramref name="options"/> is null).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="options">The serializer options.</param>
    public FakeRule RespondWithJson<T>(T value, System.Text.Json.JsonSerializerOptions? options = null) =>
        RespondWith(FakeReply.WithJson(value, options));

    /// <summary>Answers with one tool call.</summary>
    /// <param name="name">The tool's name.</param>
    /// <param name="argumentsJson">The arguments as a JSON object text.</param>
    public FakeRule RespondWithToolCall(string name, string argumentsJson) =>
        RespondWith(FakeReply.WithToolCalls(new FakeToolCall(name, argumentsJson)));

    /// <summary>Answers with tool calls.</summary>
    /// <param name="calls">The calls, in order.</param>
    public FakeRule RespondWithToolCalls(params FakeToolCall[] calls) => RespondWith(FakeReply.WithToolCalls(calls));

    /// <summary>Answers an embeddings request with these vectors (one per input).</summary>
    /// <param name="vectors">The vectors.</param>
    public FakeRule RespondWithEmbeddings(params float[][] vectors) => RespondWith(FakeReply.WithEmbeddings(vectors));

    /// <summary>Answers with a fixed reply.</summary>
    /// <param name="reply">The reply.</param>
    public FakeRule RespondWith(FakeReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return RespondWith(_ => reply);
    }

    /// <summary>Answers with a reply computed from the request.</summary>
    /// <param name="reply">Makes the reply for a request.</param>
    public FakeRule RespondWith(Func<FakeRequest, FakeReply> reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        lock (_gate)
        {
            _reply = reply;
        }

        return this;
    }

    /// <summary>Answers with an error in the provider's shape (a shortcut for <see cref="WithFault"/>).</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="errorType">The provider error type; a default fits the status.</param>
    /// <param name="message">The message.</param>
    public FakeRule RespondWithError(int status, string? errorType = null, string? message = null) =>
        WithFault(FakeFault.Error(status, errorType, message));

    /// <summary>Injects a fault; several faults on one rule combine.</summary>
    /// <param name="fault">The fault.</param>
    public FakeRule WithFault(FakeFault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        lock (_gate)
        {
            _fault = _fault is null ? fault : _fault.CombineWith(fault);
        }

        return this;
    }

    /// <summary>Holds a streamed answer after <paramref name="events"/> events until <paramref name="gate"/> is released.</summary>
    /// <param name="events">How many events are flushed before the hold.</param>
    /// <param name="gate">The gate the test releases.</param>
    public FakeRule HoldAfterEvents(int events, FakeStreamGate gate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(events);
        ArgumentNullException.ThrowIfNull(gate);
        lock (_gate)
        {
            Hold = (events, gate);
        }

        return this;
    }

    /// <summary>
    /// Sees every request, even one an earlier rule answers, so <see cref="OnCall"/> counts all the
    /// requests that match; returns whether this rule would answer it.
    /// </summary>
    internal bool Observe(FakeRequest request)
    {
        lock (_gate)
        {
            if (_times is { } times && _answered >= times)
            {
                return false;
            }

            foreach (var condition in _conditions)
            {
                if (!condition(request))
                {
                    return false;
                }
            }

            _matchingRequests++;
            return _onCall is not { } call || _matchingRequests == call;
        }
    }

    /// <summary>Counts a request this rule was chosen to answer.</summary>
    internal void Claim()
    {
        lock (_gate)
        {
            _answered++;
        }
    }

    /// <inheritdoc />
    public override string ToString()
    {
        lock (_gate)
        {
            return $"rule #{Order}" + (_description.Count == 0 ? " (any request)" : ": " + string.Join(", ", _description));
        }
    }
}
