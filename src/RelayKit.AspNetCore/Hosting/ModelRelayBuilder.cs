using Microsoft.Extensions.DependencyInjection;

namespace RelayKit.AspNetCore.Hosting;

internal sealed class ModelRelayBuilder(IServiceCollection services) : IModelRelayBuilder
{
    public IServiceCollection Services { get; } = services;
}
