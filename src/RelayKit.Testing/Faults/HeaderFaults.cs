using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace RelayKit.Testing.Faults;

/// <summary>
/// Faults asked for by plain HTTP clients (curl, other languages, load tests) through request headers,
/// documented in README: <c>x-fake-fault: rate-limit; retry-after=2</c>, <c>server-error; status=503</c>,
/// <c>overloaded</c>, <c>latency; first-byte-ms=200; between-events-ms=20</c>, <c>cut-stream; after=3</c>,
/// <c>no-usage</c>, <c>stream-error; after=2</c>, <c>reset; after=0</c>. Several faults are separated by commas.
/// </summary>
internal static class HeaderFaults
{
    public const string HeaderName = "x-fake-fault";

    public static FakeFault? Read(IHeaderDictionary headers)
    {
        if (!headers.TryGetValue(HeaderName, out var values))
        {
            return null;
        }

        FakeFault? combined = null;
        foreach (var spec in values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var fault = Parse(spec);
            combined = combined is null ? fault : combined.CombineWith(fault);
        }

        return combined;
    }

    internal static FakeFault Parse(string spec)
    {
        var parts = spec.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var name = parts.Length == 0 ? "" : parts[0].ToLowerInvariant();
        var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in parts.Skip(1))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !arguments.TryAdd(pair[0].ToLowerInvariant(), pair[1]))
            {
                throw new FormatException($"{HeaderName} '{spec}': '{part}' is not a name=value pair given once.");
            }
        }

        // A value given but not understood is refused, never replaced by a default: the test asked for something else.
        int Int(string key, int fallback, int min, int max)
        {
            if (!arguments.TryGetValue(key, out var v))
            {
                return fallback;
            }

            return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw new FormatException($"{HeaderName} '{spec}': {key} must be a whole number from {min} to {max}.");
        }

        double Seconds(string key, double fallback)
        {
            if (!arguments.TryGetValue(key, out var v))
            {
                return fallback;
            }

            return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0 && n <= MaxSeconds
                ? n
                : throw new FormatException($"{HeaderName} '{spec}': {key} must be a number of seconds from 0 to {MaxSeconds}.");
        }

        const int maxMilliseconds = MaxSeconds * 1000;
        return name switch
        {
            "rate-limit" => FakeFault.RateLimited(TimeSpan.FromSeconds(Seconds("retry-after", 1))),
            "server-error" => FakeFault.ServerError(Int("status", 500, 500, 599)),
            "overloaded" => FakeFault.Overloaded(),
            "error" => FakeFault.Error(Int("status", 400, 400, 599), arguments.GetValueOrDefault("type"), arguments.GetValueOrDefault("message")),
            "latency" => FakeFault.Latency(
                TimeSpan.FromMilliseconds(Int("first-byte-ms", 0, 0, maxMilliseconds)),
                TimeSpan.FromMilliseconds(Int("between-events-ms", 0, 0, maxMilliseconds))),
            "cut-stream" => FakeFault.CutStreamAfter(Int("after", 1, 0, int.MaxValue)),
            "no-usage" => FakeFault.StreamWithoutUsage(),
            "stream-error" => FakeFault.StreamError(Int("after", 1, 0, int.MaxValue), arguments.GetValueOrDefault("type")),
            "reset" => FakeFault.ConnectionReset(Int("after", 0, 0, int.MaxValue)),
            _ => throw new FormatException(
                $"Unknown {HeaderName} '{spec}'. Known: rate-limit, server-error, overloaded, error, latency, cut-stream, no-usage, stream-error, reset."),
        };
    }

    // A day: longer waits are no test's intent.
    private const int MaxSeconds = 86_400;
}
