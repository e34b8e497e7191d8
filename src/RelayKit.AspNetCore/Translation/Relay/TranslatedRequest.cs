using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Translation.Relay;

/// <summary>
/// A caller's request restated in the upstream's wire format: what the forwarder sends instead of the
/// caller's own body, and where on the provider it goes.
/// </summary>
/// <param name="UpstreamFormat">The wire format the upstream speaks.</param>
/// <param name="UpstreamPath">The path relative to the provider's base URL for that format.</param>
/// <param name="Body">The translated body (its <c>model</c> is the first candidate's upstream model).</param>
/// <param name="CallerBody">The caller's own body, parsed: the answer's translator reads the caller's options in it.</param>
/// <param name="CallerModel">The model name the translated answer gives (the caller's, or the fallback model it was sent to).</param>
internal sealed record TranslatedRequest(WireFormat UpstreamFormat, string UpstreamPath, RelayRequestBody Body, System.Text.Json.Nodes.JsonObject CallerBody, string CallerModel) : IDisposable
{
    public void Dispose() => Body.Dispose();
}
