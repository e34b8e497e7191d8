using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;

namespace RelayKit.AspNetCore.Metering;

/// <summary>Receives one complete server-sent event: its name (empty when it had none) and its data, as UTF-8.</summary>
/// <remarks>Both are valid only during the call: the splitter reuses its buffers for the next event.</remarks>
internal delegate void SseEventHandler(ReadOnlySpan<byte> eventName, ReadOnlyMemory<byte> data);

/// <summary>
/// Splits a server-sent-event byte stream into events as chunks arrive (push-based), calling back with
/// each complete event's name and data. Hand-written because System.Net.ServerSentEvents.SseParser is
/// pull-based over a Stream, and the relay's copy loop must hand every chunk on at once rather than let
/// a parser pull and hold it. Only what the relay needs: event, data (multi-line joined), comments skipped.
/// </summary>
/// <remarks>
/// It runs on every chunk of every relayed stream, so it works on the bytes and reuses its buffers: an event
/// costs no allocation here; a handler that needs a string or a JSON document makes it from the span.
/// </remarks>
internal sealed class SseEventSplitter : IDisposable
{
    private static ReadOnlySpan<byte> LineBreaks => "\r\n"u8;

    // Pooled: every streamed request makes a splitter, and fresh buffers were about 1.3 KB of it. They go
    // back to the pool on Dispose; a splitter that is never disposed leaves them to the GC, as before.
    private readonly ArrayPoolBufferWriter<byte> _line = new(256);
    private readonly ArrayPoolBufferWriter<byte> _data = new(1024);
    private readonly ArrayPoolBufferWriter<byte> _eventName = new(32);
    private bool _hasData;
    private bool _lastWasCarriageReturn;

    /// <summary>Feeds a chunk; <paramref name="onEvent"/> runs for every event it completes.</summary>
    public void Push(ReadOnlySpan<byte> chunk, SseEventHandler onEvent)
    {
        while (!chunk.IsEmpty)
        {
            if (_lastWasCarriageReturn)
            {
                // CR LF is one line break, also when a chunk boundary falls between the two.
                _lastWasCarriageReturn = false;
                if (chunk[0] == (byte)'\n')
                {
                    chunk = chunk[1..];
                    continue;
                }
            }

            var end = chunk.IndexOfAny(LineBreaks);
            if (end < 0)
            {
                _line.Write(chunk);
                return;
            }

            if (_line.WrittenCount == 0)
            {
                // The whole line is in this chunk: read it in place.
                EndLine(chunk[..end], onEvent);
            }
            else
            {
                _line.Write(chunk[..end]);
                EndLine(_line.WrittenSpan, onEvent);
                _line.Clear();
            }

            _lastWasCarriageReturn = chunk[end] == (byte)'\r';
            chunk = chunk[(end + 1)..];
        }
    }

    /// <summary>Ends the stream: a last event without its blank line still counts.</summary>
    public void Complete(SseEventHandler onEvent)
    {
        if (_line.WrittenCount > 0)
        {
            EndLine(_line.WrittenSpan, onEvent);
            _line.Clear();
        }

        EndLine([], onEvent);
    }

    /// <summary>Gives the buffers back to the pool; the splitter is not used after this.</summary>
    public void Dispose()
    {
        _line.Dispose();
        _data.Dispose();
        _eventName.Dispose();
    }

    private void EndLine(ReadOnlySpan<byte> line, SseEventHandler onEvent)
    {
        if (line.IsEmpty)
        {
            if (_hasData)
            {
                onEvent(_eventName.WrittenSpan, _data.WrittenMemory);
            }

            _data.Clear();
            _eventName.Clear();
            _hasData = false;
            return;
        }

        if (line[0] == (byte)':')
        {
            return;
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
    }
}
