using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols;

/// <summary>
/// Writes JSON the way the providers' servers do: quotes as <c>\"</c> and non-ASCII text as UTF-8,
/// instead of System.Text.Json's HTML-safe default (<c>\u0022</c>, <c>\u00E9</c>), so byte-level
/// assertions, relay meters and snapshot diffs see what the real APIs send. The output is JSON for
/// API clients, never embedded in HTML, which is the case the relaxed encoder is meant for. Characters
/// outside the Basic Multilingual Plane (emoji) stay escaped as surrogate pairs, still valid JSON.
/// </summary>
internal static class WireJson
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(JsonNode node) => node.ToJsonString(Options);
}
