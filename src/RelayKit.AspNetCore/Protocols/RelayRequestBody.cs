using System.Text.Json;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// The caller's JSON body: the raw bytes, forwarded as they are unless a later step rewrites a field,
/// and the parsed document over those same bytes (no copy) for reading fields.
/// </summary>
internal sealed class RelayRequestBody(ReadOnlyMemory<byte> raw, JsonDocument document) : IDisposable
{
    public ReadOnlyMemory<byte> Raw { get; } = raw;

    public JsonElement Root => document.RootElement;

    public void Dispose() => document.Dispose();
}
