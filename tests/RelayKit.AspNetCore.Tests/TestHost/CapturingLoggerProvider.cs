using System.Collections;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>
/// A logger provider that keeps every record the host's filters let through, with its structured state
/// flattened to text (a value that is a list, such as a header's values, is joined), as a structured sink
/// would export it.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _records = new();

    public IReadOnlyList<CapturedLog> Records => [.. _records];

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, _records);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<CapturedLog> records) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(";", pairs.Select(p => p.Key + "=" + Flatten(p.Value)))
                : "";
            records.Enqueue(new CapturedLog(category, logLevel, eventId.Name, formatter(state, exception), values));
        }

        private static string? Flatten(object? value) => value switch
        {
            string text => text,
            IEnumerable list => string.Join(",", list.Cast<object?>()),
            _ => value?.ToString(),
        };
    }
}
