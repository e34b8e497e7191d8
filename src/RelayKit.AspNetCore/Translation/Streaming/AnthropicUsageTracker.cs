using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Translation.Streaming;

/// <summary>
/// Follows usage through an Anthropic stream: <c>message_start</c> carries the input and cache counts,
/// each <c>message_delta</c> the cumulative output count (and, in newer API versions, final input counts).
/// </summary>
internal sealed class AnthropicUsageTracker
{
    private long _input;
    private long _cacheRead;
    private long _cacheWrite;
    private long _output;

    public TokenUsage? Usage { get; private set; }

    public void Update(JsonObject? usage)
    {
        if (usage is null)
        {
            return;
        }

        // A later event repeats or raises a counter, never lowers it; absent fields keep the earlier value.
        _input = Math.Max(_input, JsonRead.Count(usage["input_tokens"]));
        _cacheRead = Math.Max(_cacheRead, JsonRead.Count(usage["cache_read_input_tokens"]));
        _cacheWrite = Math.Max(_cacheWrite, JsonRead.Count(usage["cache_creation_input_tokens"]));
        _output = Math.Max(_output, JsonRead.Count(usage["output_tokens"]));
        Usage = UsageMapping.FromAnthropic(new JsonObject
        {
            ["input_tokens"] = _input,
            ["cache_read_input_tokens"] = _cacheRead,
            ["cache_creation_input_tokens"] = _cacheWrite,
            ["output_tokens"] = _output,
        });
    }
}
