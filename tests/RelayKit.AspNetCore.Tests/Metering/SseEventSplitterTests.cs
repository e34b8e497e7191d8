using System.Text;
using RelayKit.AspNetCore.Metering;

namespace RelayKit.AspNetCore.Tests.Metering;

public sealed class SseEventSplitterTests
{
    private const string Stream =
        ": a comment\r\n" +
        "event: message_start\r\n" +
        "data: {\"a\":1}\r\n" +
        "\r\n" +
        "data: first line\n" +
        "data:second line\n" +
        "data:  two spaces keep one\n" +
        "\n" +
        "event: ping\r" +
        "data: é ü 日本\r" +
        "\r" +
        "id: 7\n" +
        "retry: 10\n" +
        "\n" +
        "data: [DONE]\n" +
        "\n" +
        "data: last, without its blank line";

    private static readonly (string? Name, string Data)[] Expected =
    [
        ("message_start", "{\"a\":1}"),
        (null, "first line\nsecond line\n two spaces keep one"),
        ("ping", "é ü 日本"),
        (null, "[DONE]"),
        (null, "last, without its blank line"),
    ];

    [Fact]
    public void Splits_events_in_one_chunk()
    {
        Assert.Equal(Expected, Split(Encoding.UTF8.GetBytes(Stream), [Stream.Length * 4]));
    }

    [Fact]
    public void Splits_the_same_events_wherever_the_chunks_break()
    {
        // Every split point in two chunks, including inside CR LF and inside a multi-byte character.
        var bytes = Encoding.UTF8.GetBytes(Stream);
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            Assert.Equal(Expected, Split(bytes, [cut, bytes.Length]));
        }

        // And byte by byte.
        Assert.Equal(Expected, Split(bytes, [.. Enumerable.Range(1, bytes.Length)]));
    }

    [Fact]
    public void A_stream_cut_mid_event_without_data_yields_nothing_more()
    {
        var bytes = Encoding.UTF8.GetBytes("data: one\n\nevent: two\n");
        Assert.Equal([(null, "one")], Split(bytes, [bytes.Length]));
    }

    /// <summary>Feeds the bytes in chunks ending at the given offsets, then completes.</summary>
    private static List<(string? Name, string Data)> Split(byte[] bytes, int[] ends)
    {
        var splitter = new SseEventSplitter();
        var events = new List<(string? Name, string Data)>();
        void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data) =>
            events.Add((name.IsEmpty ? null : Encoding.UTF8.GetString(name), Encoding.UTF8.GetString(data.Span)));

        var start = 0;
        foreach (var end in ends)
        {
            var stop = Math.Min(end, bytes.Length);
            splitter.Push(bytes.AsSpan(start, stop - start), OnEvent);
            start = stop;
        }

        splitter.Complete(OnEvent);
        return events;
    }
}
