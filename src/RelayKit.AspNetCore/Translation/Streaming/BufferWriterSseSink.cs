using System.Buffers;
using System.Text;

namespace RelayKit.AspNetCore.Translation.Streaming;

/// <summary>
/// Writes server-sent event frames as UTF-8 into a buffer writer such as the response's
/// <c>PipeWriter</c>; the caller flushes after each upstream event.
/// </summary>
/// <remarks>
/// Hand-written rather than <c>System.Net.ServerSentEvents.SseFormatter</c> because that formatter
/// writes a whole asynchronous sequence, while the translators write frames one push at a time.
/// </remarks>
internal sealed class BufferWriterSseSink(IBufferWriter<byte> writer) : ISseSink
{
    public void Write(string? eventName, string data)
    {
        if (eventName is not null)
        {
            Append("event: ");
            Append(eventName);
            Append("\n");
        }

        // A payload line break would end the data field; SSE carries each line as its own data: field.
        foreach (var line in data.Split('\n'))
        {
            Append("data: ");
            Append(line.TrimEnd('\r'));
            Append("\n");
        }

        Append("\n");
    }

    private void Append(string text) => Encoding.UTF8.GetBytes(text, writer);
}
