using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Forwarding;

namespace RelayKit.AspNetCore.Metering;

/// <summary>
/// Drops the usage-only chunk (<c>"choices":[]</c> with a <c>usage</c> object) that the relay made an OpenAI
/// chat stream send by adding <c>stream_options.include_usage</c>, for a caller that did not ask for it. Every
/// other event passes through byte for byte as soon as it is complete; only a partial event is held.
/// </summary>
internal sealed class UsageChunkStripper : IResponseBodyTransform
{
    private readonly ArrayBufferWriter<byte> _pending = new();
    private bool _streamed;

    public void OnResponseStarted(HttpResponseMessage response, HttpResponse callerResponse) =>
        _streamed = response.Content.Headers.ContentType?.MediaType is { } media
            && media.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> upstreamChunk, Stream caller, CancellationToken cancellationToken)
    {
        if (!_streamed)
        {
            await caller.WriteAsync(upstreamChunk, cancellationToken);
            return;
        }

        _pending.Write(upstreamChunk.Span);
        var consumed = 0;
        var pending = _pending.WrittenMemory;
        while (EventEnd(pending.Span[consumed..]) is { } end and > 0)
        {
            var item = pending.Slice(consumed, end);
            if (!IsUsageOnlyChunk(item.Span))
            {
                await caller.WriteAsync(item, cancellationToken);
            }

            consumed += end;
        }

        if (consumed == pending.Length)
        {
            // The usual case: the chunk ended on an event boundary, nothing to keep.
            _pending.ResetWrittenCount();
        }
        else if (consumed > 0)
        {
            var rest = pending[consumed..].ToArray();
            _pending.ResetWrittenCount();
            _pending.Write(rest);
        }
    }

    public async ValueTask CompleteAsync(bool completed, Stream caller, CancellationToken cancellationToken)
    {
        if (_pending.WrittenCount > 0 && !IsUsageOnlyChunk(_pending.WrittenSpan))
        {
            await caller.WriteAsync(_pending.WrittenMemory, cancellationToken);
        }

        _pending.ResetWrittenCount();
    }

    /// <summary>The length of the first complete event (through its blank line), or null.</summary>
    internal static int? EventEnd(ReadOnlySpan<byte> data)
    {
        for (var i = 0; i < data.Length - 1; i++)
        {
            if (data[i] == (byte)'\n' && data[i + 1] == (byte)'\n')
            {
                return i + 2;
            }

            if (data[i] == (byte)'\n' && data[i + 1] == (byte)'\r' && i + 2 < data.Length && data[i + 2] == (byte)'\n')
            {
                return i + 3;
            }
        }

        return null;
    }

    private static bool IsUsageOnlyChunk(ReadOnlySpan<byte> item)
    {
        // Every event passes here; only one per stream has a usage object worth parsing.
        if (!UsageObject.MayBeIn(item))
        {
            return false;
        }

        var text = System.Text.Encoding.UTF8.GetString(item).Trim();
        if (!text.StartsWith("data:", StringComparison.Ordinal) || text.Contains('\n', StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text["data:".Length..].Trim());
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() == 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
