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
    // One frame for every page the relay serves (status, usage and billing, the operator console): system fonts only
    // (no external font or script), readable on a phone, and a dark variant that follows the viewer's setting.
    // Pages add their own rules through Document's pageStyle and reuse these custom properties for colour.
    private const string Style =
        ":root{color-scheme:light dark;--bg:#f7f8fa;--card:#fff;--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--head:#f0f2f5;" +
        "--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--none:#8c959f;--accent:#0969da}" +
        "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--head:#1c2128;" +
        "--ok:#3fb950;--warn:#d29922;--bad:#f85149;--none:#6e7681;--accent:#4493f8}}" +
        "*{box-sizing:border-box}body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;padding:1.5rem 1rem;" +
        "max-width:72rem;background:var(--bg);color:var(--fg);line-height:1.45}h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}" +
        "a{color:var(--accent)}.muted{color:var(--muted)}.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:1rem 0}" +
        ".scroll{overflow-x:auto}table{border-collapse:collapse;margin:.5rem 0;width:100%;background:var(--card)}" +
        "th,td{border:1px solid var(--line);padding:.35rem .6rem;text-align:left;vertical-align:top}th{background:var(--head);font-weight:600}" +
        "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}" +
        "input,select,button{font:inherit;color:inherit;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.35rem .6rem}" +
        "button{cursor:pointer;background:var(--accent);color:#fff;border-color:var(--accent)}" +
        ".healthy,.idle,.ok,.closed,.operational{color:var(--ok)}.degraded,.half-open,.degraded_performance{color:var(--warn)}" +
        ".down,.failed,.open,.major_outage,.partial_outage{color:var(--bad)}.unknown{color:var(--none)}" +
        "@media (max-width:40rem){body{padding:1rem .5rem}th,td{padding:.3rem .4rem}}";

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

    /// <summary>
    /// A whole HTML document; <paramref name="body"/> must already be escaped. <paramref name="pageStyle"/> adds the
    /// page's own CSS after the shared frame.
    /// </summary>
    public static string Document(string title, string body, string? script, string? nonce, string? pageStyle = null)
    {
        var html = new StringBuilder()
            .Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(System.Text.Encodings.Web.HtmlEncoder.Default.Encode(title)).Append("</title><style>").Append(Style).Append(pageStyle).Append("</style></head><body>")
            .Append(body);
        if (script is not null)
        {
            html.Append("<script nonce=\"").Append(nonce).Append("\">").Append(script).Append("</script>");
        }

        return html.Append("</body></html>").ToString();
    }
}
