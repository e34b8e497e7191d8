using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Protocols.Anthropic;
using RelayKit.AspNetCore.Protocols.OpenAI;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>Answers a <see cref="RelayError"/> in the caller's wire format, with the headers the SDKs act on.</summary>
internal static class RelayErrorWriter
{
    public static Task WriteAsync(HttpContext http, WireFormat format, RelayError error)
    {
        // Both SDKs read x-should-retry: a caller's own mistake is not worth retrying, an unreachable upstream
        // may be, and so may a rate limit that refills (one the request is too large for never will).
        http.Response.Headers["x-should-retry"] = error.Status >= 500 || error.Code == RelayError.RateLimitExceededCode ? "true" : "false";
        return format == WireFormat.Anthropic
            ? AnthropicErrorWriter.WriteAsync(http.Response, error, http.RequestAborted)
            : OpenAiErrorWriter.WriteAsync(http.Response, error, http.RequestAborted);
    }
}
