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
        var arguments = parts.Skip(1)
            .Select(p => p.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0].ToLowerInvariant(), p => p[1]);

        int Int(string key, int fallback) =>
            arguments.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : fallback;
        double Number(string key, double fallback) =>
            arguments.TryGetValue(key, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : fallback;

        return name switch
        {
            "rate-limit" => FakeFault.RateLimited(TimeSpan.FromSeconds(Number("retry-after", 1))),
            "server-error" => FakeFault.ServerError(Math.Max(500, Int("status", 500))),
            "overloaded" => FakeFault.Overloaded(),
            "error" => FakeFault.Error(Int("status", 400), arguments.GetValueOrDefault("type"), arguments.GetValueOrDefault("message")),
            "latency" => FakeFault.Latency(
                TimeSpan.FromMilliseconds(Int("first-byte-ms", 0)),
                TimeSpan.FromMilliseconds(Int("between-events-ms", 0))),
            "cut-stream" => FakeFault.CutStreamAfter(Math.Max(0, Int("after", 1))),
            "no-usage" => FakeFault.StreamWithoutUsage(),
            "stream-error" => FakeFault.StreamError(Math.Max(0, Int("after", 1)), arguments.GetValueOrDefault("type")),
            "reset" => FakeFault.ConnectionReset(Math.Max(0, Int("after", 0))),
            _ => throw new FormatException(
                $"Unknown {HeaderName} '{spec}'. Known: rate-limit, server-error, overloaded, error, latency, cut-stream, no-usage, stream-error, reset."),
        };
    }
}
