using System.Text.Json;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// One block of an upstream event stream as <see cref="ResponseChain"/> hands it to each stage: its bytes as they came,
/// its event name and data, and its data parsed as JSON, at most once, by the first stage that asks
/// (<see cref="TryGetRoot"/>); every later stage reads the same document. Lives for one block only: the chain disposes
/// the document before the splitter reuses the buffers.
/// </summary>
internal ref struct ResponseEvent
{
    private JsonDocument? _document;
    private bool _parsed;

    public ResponseEvent(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data, bool isEvent)
    {
        Raw = raw;
        Name = name;
        Data = data;
        IsEvent = isEvent;
    }

    /// <summary>The block's bytes as the upstream sent them (what passes on unchanged).</summary>
    public ReadOnlySpan<byte> Raw { get; }

    /// <summary>The <c>event:</c> name; empty when it had none.</summary>
    public ReadOnlySpan<byte> Name { get; }

    /// <summary>The event's data.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Whether the block carried data: false for comments and stray blank lines.</summary>
    public bool IsEvent { get; }

    /// <summary>Whether the data is the Chat Completions end marker <c>[DONE]</c> (not JSON).</summary>
    public readonly bool IsDone => Data.Span.SequenceEqual("[DONE]"u8);

    /// <summary>
    /// The data as a JSON document's root, parsed in place on the first call (never again for this event); false when
    /// the data is not JSON (a hostile or broken event passes on as it came, unread).
    /// </summary>
    public bool TryGetRoot(out JsonElement root)
    {
        if (!_parsed)
        {
            _parsed = true;
            if (IsEvent && !Data.IsEmpty && !IsDone)
            {
                try
                {
                    _document = JsonDocument.Parse(Data);
                }
                catch (JsonException)
                {
                    _document = null;
                }
            }
        }

        if (_document is null)
        {
            root = default;
            return false;
        }

        root = _document.RootElement;
        return true;
    }

    /// <summary>The root when the data is a JSON object.</summary>
    public bool TryGetObject(out JsonElement root) => TryGetRoot(out root) && root.ValueKind == JsonValueKind.Object;

    /// <summary>Gives the parsed document's buffers back; the event is not read after this.</summary>
    public void Dispose()
    {
        _document?.Dispose();
        _document = null;
    }
}
