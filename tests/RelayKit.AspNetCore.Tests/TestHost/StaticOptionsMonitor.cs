using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>An options monitor over one fixed value, for unit tests of components that take IOptionsMonitor.</summary>
internal sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue { get; } = value;

    public T Get(string? name) => CurrentValue;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
