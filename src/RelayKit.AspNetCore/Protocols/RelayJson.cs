using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>How the relay writes its own JSON (errors, model lists).</summary>
internal static class RelayJson
{
    /// <summary>
    /// API responses are not HTML: quotes and non-ASCII stay readable (<c>'gpt-5.5'</c>, not <c>\u0027gpt-5.5\u0027</c>)
    /// in the messages that SDKs show to developers.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Answers 200 with the JSON <paramref name="write"/> writes straight into the response body.</summary>
    public static async Task WriteOkAsync<TState>(HttpResponse response, TState state, Action<Utf8JsonWriter, TState> write, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions);
        write(writer, state);
        await writer.FlushAsync(cancellationToken);
    }
}
