using System.Text;

namespace RelayKit.AspNetCore.Metering;

/// <summary>
/// Splits a server-sent-event byte stream into events as chunks arrive (push-based), calling back with
/// each complete event's name and data. Hand-written because System.Net.ServerSentEvents.SseParser is
/// pull-based over a Stream, and the relay's copy loop must hand every chunk on at once rather than let
/// a parser pull and hold it. Only what the relay needs: event, data (multi-line joined), comments skipped.
/// </summary>
internal sealed class SseEventSplitter
{
    private readonly List<byte> _line = new(256);
    private readonly StringBuilder _data = new();
    private string? _eventName;
    private bool _hasData;
    private bool _lastWasCarriageReturn;

    /// <summary>Feeds a chunk; <paramref name="onEvent"/> runs for every event it completes.</summary>
    public void Push(ReadOnlySpan<byte> chunk, Action<string?, string> onEvent)
    {
        foreach (var b in chunk)
        {
            if (b == (byte)'\n' && _lastWasCarriageReturn)
            {
                _lastWasCarriageReturn = false;
                continue;
            }

            _lastWasCarriageReturn = b == (byte)'\r';
            if (b is (byte)'\n' or (byte)'\r')
            {
                EndLine(onEvent);
            }
            else
            {
                _line.Add(b);
            }
        }
    }

    /// <summary>Ends the stream: a last event without its blank line still counts.</summary>
    public void Complete(Action<string?, string> onEvent)
    {
        if (_line.Count > 0)
        {
            EndLine(onEvent);
        }

        EndLine(onEvent);
    }

    private void EndLine(Action<string?, string> onEvent)
    {
        if (_line.Count == 0)
        {
            if (_hasData)
            {
                onEvent(_eventName, _data.ToString());
            }

            _data.Clear();
            _eventName = null;
            _hasData = false;
            return;
        }

        var line = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_line));
        _line.Clear();
        if (line.StartsWith(':'))
        {
            return;
        }

        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? "" : line[(colon + 1)..];
        if (value.StartsWith(' '))
        {
            value = value[1..];
        }

        switch (field)
        {
            case "event":
                _eventName = value;
                break;
            case "data":
                if (_hasData)
                {
                    _data.Append('\n');
                }

                _data.Append(value);
                _hasData = true;
                break;
        }
    }
}
