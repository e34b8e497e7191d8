using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// The caller's JSON body: the raw bytes, forwarded as they are unless a later step rewrites a field,
/// and the parsed document over those same bytes (no copy) for reading fields.
/// </summary>
internal sealed class RelayRequestBody(ReadOnlyMemory<byte> raw, JsonDocument document) : IDisposable
{
    public ReadOnlyMemory<byte> Raw { get; } = raw;

    public JsonElement Root => document.RootElement;

    /// <summary>
    /// The body as a node tree over <see cref="Root"/>, made once per request for the steps that read it
    /// that way (the cost and token estimates). Read it, never change it: later steps see the same tree.
    /// </summary>
    public JsonObject Node => field ??= JsonObject.Create(document.RootElement)
        ?? throw new InvalidOperationException("The request body is not a JSON object.");

    public void Dispose() => document.Dispose();
}
