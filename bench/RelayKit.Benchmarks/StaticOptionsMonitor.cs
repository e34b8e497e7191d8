using Microsoft.Extensions.Options;

namespace RelayKit.Benchmarks;

/// <summary>An options monitor over one fixed value: the benchmarks never reload configuration.</summary>
internal sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue { get; } = value;

    public T Get(string? name) => CurrentValue;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
