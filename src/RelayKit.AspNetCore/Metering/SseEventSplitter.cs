using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;

namespace RelayKit.AspNetCore.Metering;

/// <summary>Receives one complete server-sent event: its name (empty when it had none) and its data, as UTF-8.</summary>
/// <remarks>Both are valid only during the call: the splitter reuses its buffers for the next event.</remarks>
internal delegate void SseEventHandler(ReadOnlySpan<byte> eventName, ReadOnlyMemory<byte> data);

/// <summary>
/// Receives every block of a server-sent-event stream, in order: the block's own bytes as they came (through the blank
/// line that ended it, or the end of the stream), and, when the block carried <c>data:</c>, the event's name and data.
/// Every byte of the stream lands in exactly one block, so writing the blocks' bytes again gives the stream unchanged.
/// </summary>
/// <remarks>All three are valid only during the call: the splitter reuses its buffers for the next block.</remarks>
internal interface ISseBlockSink
{
    /// <param name="raw">The block's bytes as the upstream sent them.</param>
    /// <param name="name">The <c>event:</c> name, empty when it had none.</param>
    /// <param name="data">The event's data (multi-line data joined with <c>\n</c>).</param>
    /// <param name="isEvent">Whether the block carried data (else it is comments or stray blank lines, passed as they came).</param>
    void OnBlock(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data, bool isEvent);
}

/// <summary>
/// Splits a server-sent-event byte stream into events as chunks arrive (push-based), calling back with
/// each complete event's name and data and its bytes as they came. Hand-written because
/// System.Net.ServerSentEvents.SseParser is pull-based over a Stream, and the relay's copy loop must hand every chunk on
/// at once rather than let a parser pull and hold it. Only what the relay needs: event, data (multi-line joined),
/// comments skipped (but kept in the block's bytes).
/// </summary>
/// <remarks>
/// It runs on every chunk of every relayed stream, so it works on the bytes and reuses its buffers: an event
/// costs no allocation here; a handler that needs a string or a JSON document makes it from the span. A block that lies
/// whole in one chunk is handed on as a slice of that chunk; only one cut by a chunk boundary is copied.
/// </remarks>
internal sealed class SseEventSplitter : IDisposable
{
    private static ReadOnlySpan<byte> LineBreaks => "\r\n"u8;

    // Pooled: every streamed request makes a splitter, and fresh buffers were about 1.3 KB of it. They go
    // back to the pool on Dispose; a splitter that is never disposed leaves them to the GC, as before.
    private readonly ArrayPoolBufferWriter<byte> _line = new(256);
    private readonly ArrayPoolBufferWriter<byte> _data = new(1024);
    private readonly ArrayPoolBufferWriter<byte> _eventName = new(32);

    // The current block's bytes from earlier chunks (only when a chunk boundary cut it).
    private readonly ArrayPoolBufferWriter<byte> _raw = new(256);
    private bool _hasData;
    private bool _lastWasCarriageReturn;

    // A block whose blank line ended with a CR at the very end of a chunk: handed on once the next chunk says whether an
    // LF follows, so that LF belongs to the block it ends (a stripped event leaves no stray line break behind).
    private bool _dispatchPending;
    private EventAdapter? _adapter;

    /// <summary>Feeds a chunk; <paramref name="onEvent"/> runs for every event it completes.</summary>
    public void Push(ReadOnlySpan<byte> chunk, SseEventHandler onEvent) => Push(chunk, Adapter(onEvent));

    /// <summary>Ends the stream: a last event without its blank line still counts.</summary>
    public void Complete(SseEventHandler onEvent) => Complete(Adapter(onEvent));

    /// <summary>Feeds a chunk; <paramref name="sink"/> gets every block it completes.</summary>
    public void Push(ReadOnlySpan<byte> chunk, ISseBlockSink sink)
    {
        if (chunk.IsEmpty)
        {
            return;
        }

        var position = 0;
        if (_dispatchPending)
        {
            _dispatchPending = false;
            if (chunk[0] == (byte)'\n')
            {
                position = 1;
                _lastWasCarriageReturn = false;
            }

            Dispatch(chunk[..position], sink);
        }

        var blockStart = position;
        while (position < chunk.Length)
        {
            if (_lastWasCarriageReturn)
            {
                // CR LF is one line break, also when a chunk boundary falls between the two.
                _lastWasCarriageReturn = false;
                if (chunk[position] == (byte)'\n')
                {
                    position++;
                    continue;
                }
            }

            var end = chunk[position..].IndexOfAny(LineBreaks);
            if (end < 0)
            {
                _line.Write(chunk[position..]);
                break;
            }

            end += position;
            var next = end + 1;
            _lastWasCarriageReturn = chunk[end] == (byte)'\r';
            if (_lastWasCarriageReturn && next < chunk.Length && chunk[next] == (byte)'\n')
            {
                // The LF of a CR LF belongs to the line it ends (and so to the block a blank line ends).
                next++;
                _lastWasCarriageReturn = false;
            }

            bool blockEnded;
            if (_line.WrittenCount == 0)
            {
                // The whole line is in this chunk: read it in place.
                blockEnded = EndLine(chunk[position..end]);
            }
            else
            {
                _line.Write(chunk[position..end]);
                blockEnded = EndLine(_line.WrittenSpan);
                _line.Clear();
            }

            if (blockEnded && _lastWasCarriageReturn && next == chunk.Length)
            {
                // The CR is the chunk's last byte: its LF, if any, comes with the next chunk.
                _raw.Write(chunk[blockStart..next]);
                _dispatchPending = true;
                blockStart = next;
            }
            else if (blockEnded)
            {
                Dispatch(chunk[blockStart..next], sink);
                blockStart = next;
            }

            position = next;
        }

        if (blockStart < chunk.Length)
        {
            _raw.Write(chunk[blockStart..]);
        }
    }

    /// <summary>Ends the stream: a last event without its blank line still counts, and any bytes left go out as a block.</summary>
    public void Complete(ISseBlockSink sink)
    {
        if (_dispatchPending)
        {
            _dispatchPending = false;
            Dispatch([], sink);
        }

        if (_line.WrittenCount > 0)
        {
            EndLine(_line.WrittenSpan);
            _line.Clear();
        }

        if (_hasData || _raw.WrittenCount > 0)
        {
            Dispatch([], sink);
        }
    }

    /// <summary>Gives the buffers back to the pool; the splitter is not used after this.</summary>
    public void Dispose()
    {
        _line.Dispose();
        _data.Dispose();
        _eventName.Dispose();
        _raw.Dispose();
    }

    private ISseBlockSink Adapter(SseEventHandler onEvent)
    {
        var adapter = _adapter ??= new EventAdapter();
        adapter.OnEvent = onEvent;
        return adapter;
    }

    private void Dispatch(ReadOnlySpan<byte> rest, ISseBlockSink sink)
    {
        ReadOnlySpan<byte> raw;
        if (_raw.WrittenCount == 0)
        {
            raw = rest;
        }
        else
        {
            _raw.Write(rest);
            raw = _raw.WrittenSpan;
        }

        sink.OnBlock(raw, _eventName.WrittenSpan, _data.WrittenMemory, _hasData);
        _raw.Clear();
        _data.Clear();
        _eventName.Clear();
        _hasData = false;
    }

    /// <summary>Reads one line; true when it is the blank line that ends a block.</summary>
    private bool EndLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty)
        {
            return true;
        }

        if (line[0] == (byte)':')
        {
            return false;
        }

        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("event"u8))
        {
            _eventName.Clear();
            _eventName.Write(value);
        }
        else if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                _data.Write("\n"u8);
            }

            _data.Write(value);
            _hasData = true;
        }

        return false;
    }

    /// <summary>Hands only events (blocks with data) to an <see cref="SseEventHandler"/>.</summary>
    private sealed class EventAdapter : ISseBlockSink
    {
        public SseEventHandler? OnEvent;

        public void OnBlock(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data, bool isEvent)
        {
            if (isEvent)
            {
                OnEvent!(name, data);
            }
        }
    }
}
