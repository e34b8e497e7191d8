using System.Text.Json;
using RelayKit.AspNetCore.Forwarding;

namespace RelayKit.AspNetCore.Metering;

/// <summary>
/// A stage of <see cref="ResponseChain"/>: drops the usage-only chunk (<c>"choices":[]</c> with a <c>usage</c> object)
/// that the relay made an OpenAI chat stream send by adding <c>stream_options.include_usage</c>, for a caller that did
/// not ask for it. Every other event passes through byte for byte; the chunk is read from the chain's one parse of it.
/// </summary>
internal static class UsageChunkStripper
{
    /// <summary>Whether the event is the usage-only chunk, to be left out of the caller's stream.</summary>
    public static bool Drops(ref ResponseEvent item)
    {
        // Every event passes here; only one per stream has a usage object worth reading.
        if (!item.IsEvent || !UsageObject.MayBeIn(item.Raw))
        {
            return false;
        }

        // Only an event of one data: line and nothing else.
        var text = item.Raw.Trim(" \t\r\n"u8);
        if (!text.StartsWith("data:"u8) || text.Contains((byte)'\n'))
        {
            return false;
        }

        return item.TryGetObject(out var root)
            && root.TryGetProperty("usage"u8, out var usage) && usage.ValueKind == JsonValueKind.Object
            && root.TryGetProperty("choices"u8, out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() == 0;
    }
}
