using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using RelayKit.AspNetCore.Status;

namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// <c>GET {prefix}/console</c>: the operator console, a page shell whose markup, script and style are embedded files
/// (<c>Admin/Console/console.html</c>, <c>.js</c>, <c>.css</c>) that a designer edits as such. It holds no data and no
/// logic of its own: the script signs in with the admin key (kept in the tab's <c>sessionStorage</c> only) and shows
/// and changes everything through the operations API, under the relay pages' strict content security policy.
/// </summary>
internal sealed class OperatorConsolePage
{
    private readonly string _body = Read("console.html");
    private readonly string _script = Read("console.js");
    private readonly string _style = Read("console.css");

    public Task WriteAsync(HttpContext http)
    {
        var nonce = RelayPageResponses.NewNonce();
        // Served fresh: a cached shell would outlive a fix to the script.
        http.Response.Headers[HeaderNames.CacheControl] = "no-store";
        return RelayPageResponses.WriteHtmlAsync(http, RelayPageResponses.Document("RelayKit console", _body, _script, nonce, _style), nonce);
    }

    private static string Read(string name)
    {
        using var stream = typeof(OperatorConsolePage).Assembly.GetManifestResourceStream("RelayKit.AspNetCore.Admin.Console." + name)
            ?? throw new InvalidOperationException($"The console's embedded file '{name}' is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
