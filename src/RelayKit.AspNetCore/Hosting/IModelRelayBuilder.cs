using Microsoft.Extensions.DependencyInjection;

namespace RelayKit.AspNetCore;

/// <summary>Configures the model relay further after <c>AddModelRelay</c>.</summary>
public interface IModelRelayBuilder
{
    /// <summary>The services the relay is registered in.</summary>
    IServiceCollection Services { get; }
}
