namespace RelayKit.AspNetCore.Forwarding;

/// <summary>Set by <c>ConfigureUpstreamHandler</c>: replaces the proxy handler, for example with a fake upstream in tests.</summary>
internal sealed class UpstreamHandlerOptions
{
    public Func<IServiceProvider, string, HttpMessageHandler?>? CreateHandler { get; set; }
}
