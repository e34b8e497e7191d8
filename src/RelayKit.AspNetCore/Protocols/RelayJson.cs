using System.Text.Encodings.Web;
using System.Text.Json;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>How the relay writes its own JSON (errors, model lists).</summary>
internal static class RelayJson
{
    /// <summary>
    /// API responses are not HTML: quotes and non-ASCII stay readable (<c>'gpt-5.5'</c>, not <c>\u0027gpt-5.5\u0027</c>)
    /// in the messages that SDKs show to developers.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
