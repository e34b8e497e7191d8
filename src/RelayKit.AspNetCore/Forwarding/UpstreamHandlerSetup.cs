using System.Net;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Gives every relay client (<see cref="UpstreamClientNames"/>) its primary handler: the one from
/// <c>ConfigureUpstreamHandler</c> if set, otherwise a <see cref="SocketsHttpHandler"/> set up as a
/// proxy's: bytes pass through as the upstream sent them (no decompression), a redirect or a cookie
/// from an upstream is the caller's business, and a dead upstream fails fast while a slow model may
/// take minutes (connect timeout short; the response timeout is applied per request by the forwarder).
/// </summary>
internal sealed class UpstreamHandlerSetup(
    IOptions<UpstreamHandlerOptions> handlerOptions,
    IOptionsMonitor<ModelRelayOptions> relayOptions) : IConfigureNamedOptions<HttpClientFactoryOptions>
{
    public void Configure(string? name, HttpClientFactoryOptions options)
    {
        if (!UpstreamClientNames.TryGetProvider(name, out var provider))
        {
            return;
        }

        // IHttpClientFactory's logging may log headers; for relay clients they carry provider keys.
        options.ShouldRedactHeaderValue = _ => true;
        options.HttpMessageHandlerBuilderActions.Add(builder =>
            builder.PrimaryHandler = handlerOptions.Value.CreateHandler?.Invoke(builder.Services, provider)
                ?? CreateProxyHandler(relayOptions.CurrentValue));
    }

    public void Configure(HttpClientFactoryOptions options) => Configure(Options.DefaultName, options);

    private static SocketsHttpHandler CreateProxyHandler(ModelRelayOptions options) => new()
    {
        AutomaticDecompression = DecompressionMethods.None,
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = options.ConnectTimeout,
        EnableMultipleHttp2Connections = true,

        // Unlike YARP (a reverse proxy to backends next to it), the relay calls public APIs, often from
        // networks that only reach them through an outbound proxy, so the system proxy settings stay on.
        UseProxy = true,
    };
}
