using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Protocols.OpenAI;

/// <summary>Writes <c>{"error":{"message","type","param","code"}}</c>, the shape the OpenAI SDKs parse.</summary>
internal static class OpenAiErrorWriter
{
    public static async Task WriteAsync(HttpResponse response, RelayError error, CancellationToken cancellationToken)
    {
        response.StatusCode = error.Status;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, RelayJson.WriterOptions);
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", error.Message);
        writer.WriteString("type", Type(error.Kind));
        if (error.Param is null)
        {
            writer.WriteNull("param");
        }
        else
        {
            writer.WriteString("param", error.Param);
        }

        writer.WriteString("code", error.Code);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken);
    }

    // OpenAI itself reports authentication and permission problems as invalid_request_error with a code.
    private static string Type(RelayErrorKind kind) => kind switch
    {
        RelayErrorKind.UpstreamUnreachable or RelayErrorKind.UpstreamTimeout or RelayErrorKind.Internal or RelayErrorKind.Unavailable => "server_error",
        RelayErrorKind.RateLimited => "requests",
        RelayErrorKind.InsufficientQuota => "insufficient_quota",
        _ => "invalid_request_error",
    };
}
