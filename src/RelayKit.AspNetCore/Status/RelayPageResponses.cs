using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace RelayKit.AspNetCore.Status;

/// <summary>
/// What the relay's own pages (status, usage) share: JSON or HTML by the <c>Accept</c> header, and
/// self-contained HTML under a strict content security policy (no network but the page's own origin,
/// inline script only with the page's nonce).
/// </summary>
internal static class RelayPageResponses
{
    private const string Style =
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}" +
        "th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f3f3f3}" +
        ".healthy,.idle,.ok{color:#08660d}.degraded,.half-open{color:#9a6700}.down,.failed,.open{color:#b00020}.unknown{color:#666}";

    /// <summary>Whether the caller asked for HTML (a browser does); anything else gets JSON.</summary>
    public static bool WantsHtml(HttpRequest request)
    {
        foreach (var accept in request.GetTypedHeaders().Accept)
        {
            if (accept.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (accept.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return false;
    }

    public static async Task WriteJsonAsync(HttpContext http, JsonNode body)
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(http.Response.Body);
        body.WriteTo(writer);
        await writer.FlushAsync(http.RequestAborted);
    }

    public static Task WriteHtmlAsync(HttpContext http, string document, string? nonce)
    {
        http.Response.ContentType = "text/html; charset=utf-8";
        var script = nonce is null ? "'none'" : $"'nonce-{nonce}'";
        http.Response.Headers[HeaderNames.ContentSecurityPolicy] =
            $"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";
        http.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        return http.Response.WriteAsync(document, Encoding.UTF8, http.RequestAborted);
    }

    /// <summary>A fresh nonce for one page's inline script.</summary>
    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    /// <summary>A whole HTML document; <paramref name="body"/> must already be escaped.</summary>
    public static string Document(string title, string body, string? script, string? nonce)
    {
        var html = new StringBuilder()
            .Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(System.Text.Encodings.Web.HtmlEncoder.Default.Encode(title)).Append("</title><style>").Append(Style).Append("</style></head><body>")
            .Append(body);
        if (script is not null)
        {
            html.Append("<script nonce=\"").Append(nonce).Append("\">").Append(script).Append("</script>");
        }

        return html.Append("</body></html>").ToString();
    }
}
