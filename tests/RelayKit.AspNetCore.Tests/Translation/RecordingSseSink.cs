using System.Text;
using RelayKit.AspNetCore.Translation.Streaming;

namespace RelayKit.AspNetCore.Tests.Translation;

/// <summary>Keeps the frames a stream translator wrote, in order, and their SSE text.</summary>
internal sealed class RecordingSseSink : ISseSink
{
    private readonly StringBuilder _text = new();
    private readonly BufferWriterSseSink? _formatter;
    private readonly System.Buffers.ArrayBufferWriter<byte> _bytes = new();

    public RecordingSseSink() => _formatter = new BufferWriterSseSink(_bytes);

    public List<(string? Event, string Data)> Frames { get; } = [];

    /// <summary>The frames as the caller would read them on the wire.</summary>
    public string Text => Encoding.UTF8.GetString(_bytes.WrittenSpan);

    public void Write(string? eventName, string data)
    {
        Frames.Add((eventName, data));
        _formatter!.Write(eventName, data);
    }
}
