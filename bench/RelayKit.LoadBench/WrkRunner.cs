using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace RelayKit.LoadBench;

/// <summary>
/// Saturation load from wrk (<c>apt-get install -y wrk</c>), a C load generator in a process of its own: it takes far
/// less CPU per request than a .NET client, so on a 2-core machine more of it is left to the servers measured.
/// </summary>
internal static partial class WrkRunner
{
    /// <summary>wrk on the PATH, or null.</summary>
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(folder => Path.Combine(folder, "wrk"))
            .FirstOrDefault(File.Exists);

    /// <summary>Runs wrk against <paramref name="target"/> with <paramref name="connections"/> connections for <paramref name="duration"/>.</summary>
    public static async Task<WrkSummary> RunAsync(string wrk, Target target, bool stream, int connections, TimeSpan duration)
    {
        var script = Path.Combine(Path.GetTempPath(), $"relaykit-wrk-{Environment.ProcessId}-{target.Name}-{(stream ? "stream" : "json")}.lua");
        await File.WriteAllTextAsync(script, Script(target, stream));
        try
        {
            var start = new ProcessStartInfo(wrk) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in new[]
            {
                "-t2", $"-c{connections}", string.Create(CultureInfo.InvariantCulture, $"-d{Math.Max(1, (int)Math.Round(duration.TotalSeconds))}s"),
                "--latency", "-s", script, target.ChatCompletions.AbsoluteUri,
            })
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start.");
            var output = await process.StandardOutput.ReadToEndAsync();
            var errors = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return Parse(output + errors);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>Reads wrk's report: "N requests in", the --latency percentiles, non-2xx answers and socket errors.</summary>
    public static WrkSummary Parse(string report)
    {
        var total = RequestsLine().Match(report) is { Success: true } requests ? int.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var non2xx = Non2xxLine().Match(report) is { Success: true } bad ? int.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socketErrors = SocketErrorsLine().Match(report) is { Success: true } socket
            ? Enumerable.Range(1, 4).Sum(i => int.Parse(socket.Groups[i].Value, CultureInfo.InvariantCulture))
            : 0;
        var errors = new StringBuilder();
        if (non2xx > 0)
        {
            errors.Append(CultureInfo.InvariantCulture, $"non-2xx×{non2xx}");
        }

        if (socketErrors > 0)
        {
            errors.Append(errors.Length > 0 ? ", " : "").Append(CultureInfo.InvariantCulture, $"socket×{socketErrors}");
        }

        return new WrkSummary(Math.Max(0, total - non2xx), non2xx + socketErrors, Percentile(report, "50%"), Percentile(report, "99%"), errors.ToString());
    }

    private static double Percentile(string report, string percentile)
    {
        var match = Regex.Match(report, @"^\s*" + Regex.Escape(percentile) + @"\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            return double.NaN;
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    private static string Script(Target target, bool stream)
    {
        // A Lua long string: the body is JSON and holds no "]]".
        var body = Encoding.UTF8.GetString(RequestSender.BodyOf(stream));
        return $"""
            wrk.method = "POST"
            wrk.body = [[{body}]]
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["Authorization"] = "{target.Authorization}"
            """;
    }

    [GeneratedRegex(@"(\d+) requests in ")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxLine();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsLine();
}
