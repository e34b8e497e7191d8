using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Protocols.Anthropic;

/// <summary>Writes <c>{"type":"error","error":{"type","message"}}</c> with Anthropic's error type names.</summary>
internal static class AnthropicErrorWriter
{
    public static async Task WriteAsync(HttpResponse response, RelayError error, CancellationToken cancellationToken)
    {
        response.StatusCode = error.Status;
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, RelayJson.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("type", "error");
        writer.WriteStartObject("error");
        writer.WriteString("type", Type(error.Kind));
        writer.WriteString("message", error.Message);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken);
    }

    private static string Type(RelayErrorKind kind) => kind switch
    {
        RelayErrorKind.Authentication => "authentication_error",
        RelayErrorKind.Permission => "permission_error",
        RelayErrorKind.NotFound => "not_found_error",
        RelayErrorKind.RequestTooLarge => "request_too_large",
        RelayErrorKind.UpstreamTimeout => "timeout_error",
        RelayErrorKind.RateLimited => "rate_limit_error",
        RelayErrorKind.UpstreamUnreachable or RelayErrorKind.Internal => "api_error",
        RelayErrorKind.Unavailable => "overloaded_error",
        RelayErrorKind.InsufficientQuota => "billing_error",
        _ => "invalid_request_error",
    };
}
