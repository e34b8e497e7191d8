using System.Text.Json;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// The caller's JSON body: the raw bytes, forwarded as they are unless a later step rewrites a field,
/// and the parsed document over those same bytes (no copy) for reading fields.
/// </summary>
/// <param name="raw">The body's bytes.</param>
/// <param name="document">The document parsed over <paramref name="raw"/>.</param>
/// <param name="owner">What owns the memory of <paramref name="raw"/> (a pooled buffer), released with the body; null when nothing need be.</param>
internal sealed class RelayRequestBody(ReadOnlyMemory<byte> raw, JsonDocument document, IDisposable? owner = null) : IDisposable
{
    private bool _sent;

    public ReadOnlyMemory<byte> Raw { get; } = raw;

    /// <summary>
    /// <see cref="Raw"/>, to be sent upstream as it is. Its memory then never goes back to the pool: HttpClient may
    /// still be writing it after the response came (an upstream that answers before it read the whole body), and
    /// a buffer reused meanwhile by another request would send that request's bytes to this upstream.
    /// </summary>
    public ReadOnlyMemory<byte> RawToSend()
    {
        _sent = true;
        return Raw;
    }

    public JsonElement Root => document.RootElement;

    public void Dispose()
    {
        // The document first: it reads the owner's memory in place.
        document.Dispose();
        if (!_sent)
        {
            owner?.Dispose();
        }
    }
}
