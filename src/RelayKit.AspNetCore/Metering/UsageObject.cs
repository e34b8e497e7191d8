namespace RelayKit.AspNetCore.Metering;

/// <summary>A quick look at an SSE event's bytes before anything parses them as JSON.</summary>
internal static class UsageObject
{
    /// <summary>
    /// Whether the bytes have a <c>"usage"</c> key with an object value (OpenAI chunks carry <c>"usage":null</c>
    /// until the last one). No false negatives for JSON as the providers write it; an escaped key is missed, so
    /// a caller that must not miss usage parses what this rejects when no usage was found otherwise.
    /// </summary>
    public static bool MayBeIn(ReadOnlySpan<byte> data)
    {
        var key = "\"usage\""u8;
        for (var at = data.IndexOf(key); at >= 0; at = data.IndexOf(key))
        {
            data = data[(at + key.Length)..].TrimStart(" \t\r\n"u8);
            if (!data.IsEmpty && data[0] == (byte)':' && data[1..].TrimStart(" \t\r\n"u8) is [(byte)'{', ..])
            {
                return true;
            }
        }

        return false;
    }
}
