namespace RelayKit.Testing;

/// <summary>
/// Why the model stopped, in neutral terms; each wire format renders it its own way
/// (OpenAI <c>finish_reason</c>, Anthropic <c>stop_reason</c>, Responses <c>status</c>).
/// </summary>
public enum FakeFinishReason
{
    /// <summary>A natural end: OpenAI <c>stop</c>, Anthropic <c>end_turn</c>.</summary>
    Stop,

    /// <summary>The output cap was reached: OpenAI <c>length</c>, Anthropic <c>max_tokens</c>.</summary>
    Length,

    /// <summary>The model called tools: OpenAI <c>tool_calls</c>, Anthropic <c>tool_use</c>.</summary>
    ToolCalls,

    /// <summary>Output was filtered: OpenAI <c>content_filter</c>, Anthropic <c>refusal</c>.</summary>
    ContentFilter,

    /// <summary>A stop sequence matched: OpenAI <c>stop</c>, Anthropic <c>stop_sequence</c>.</summary>
    StopSequence,

    /// <summary>A long turn was paused: OpenAI <c>stop</c>, Anthropic <c>pause_turn</c>.</summary>
    PauseTurn,

    /// <summary>The deprecated OpenAI <c>function_call</c> finish reason (Anthropic <c>tool_use</c>).</summary>
    FunctionCall,
}
