namespace RelayKit.AspNetCore.Translation;

/// <summary>Why the model stopped, between Anthropic's <c>stop_reason</c>, OpenAI's <c>finish_reason</c> and the Responses status.</summary>
internal static class StopReasons
{
    /// <summary>OpenAI's <c>finish_reason</c> for an Anthropic <c>stop_reason</c>.</summary>
    /// <remarks>
    /// An unknown future reason reads as <c>stop</c>: the answer is already generated and paid for,
    /// and failing it would lose more than the reason is worth.
    /// </remarks>
    public static string ToFinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    /// <summary>Anthropic's <c>stop_reason</c> for an OpenAI <c>finish_reason</c>.</summary>
    public static string ToStopReason(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };

    /// <summary>The Responses <c>incomplete_details.reason</c> for an Anthropic <c>stop_reason</c>; <see langword="null"/> when complete.</summary>
    public static string? ToIncompleteReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "max_output_tokens",
        "refusal" => "content_filter",
        _ => null,
    };
}
