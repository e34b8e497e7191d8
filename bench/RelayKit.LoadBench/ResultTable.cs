using System.Globalization;
using System.Text;

namespace RelayKit.LoadBench;

/// <summary>Prints the results as one Markdown table, then the issue's targets with met or missed.</summary>
internal static class ResultTable
{
    /// <param name="results">The phases.</param>
    /// <param name="separateProcesses">Whether each target's counters are its own server process's (else the whole process's).</param>
    public static string Render(IReadOnlyList<PhaseResult> results, bool separateProcesses)
    {
        var text = new StringBuilder();
        var of = separateProcesses ? "server" : "process";
        text.AppendLine($"| target | body | load | ok | failed | req/s | p50 ms | p99 ms | p50 added | p99 added | TTFB p50 ms | TTFB added | CPU µs/req ({of}) | GC pause ms/s ({of}) | alloc KB/req ({of}) | working set MB | heap MB |");
        text.AppendLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            var direct = results.FirstOrDefault(d => d.Target == "direct" && d.Stream == r.Stream && d.Load == r.Load);
            var isDirect = r.Target == "direct" || direct is null;
            var p50Added = isDirect ? "—" : Ms(r.P50Ms - direct!.P50Ms);
            var p99Added = isDirect ? "—" : Ms(r.P99Ms - direct!.P99Ms);
            var firstByte = r.Stream && !double.IsNaN(r.FirstByteP50Ms) ? r.FirstByteP50Ms.ToString("0.000", CultureInfo.InvariantCulture) : "—";
            var firstByteAdded = r.Stream && !isDirect && !double.IsNaN(r.FirstByteP50Ms) ? Ms(r.FirstByteP50Ms - direct!.FirstByteP50Ms) : "—";
            text.AppendLine(Invariant(
                $"| {r.Target} | {(r.Stream ? "stream" : "json")} | {r.Load} | {r.Requests} | {r.Failed} | {r.Throughput:0} | {r.P50Ms:0.000} | {r.P99Ms:0.000} | {p50Added} | {p99Added} | {firstByte} | {firstByteAdded} | {r.CpuMicrosecondsPerRequest:0} | {r.GcPauseMsPerSecond:0.0} | {r.AllocatedBytesPerRequest / 1024:0.0} | {r.WorkingSetMb:0} | {r.HeapMb:0.0} |"));
        }

        return text.ToString();
    }

    public static string Targets(IReadOnlyList<PhaseResult> results, double? soakGrowthMb, int soakRequests, bool separateProcesses)
    {
        var text = new StringBuilder();
        foreach (var stream in new[] { false, true })
        {
            var body = stream ? "stream" : "json";
            var fixedLoad = results.FirstOrDefault(r => !r.Load.StartsWith("closed", StringComparison.Ordinal) && r.Stream == stream)?.Load;
            var direct = Find(results, "direct", stream, fixedLoad);
            var yarp = Find(results, "yarp", stream, fixedLoad);
            var relay = Find(results, "relay", stream, fixedLoad);
            if (direct is not null && yarp is not null && relay is not null)
            {
                var yarp50 = yarp.P50Ms - direct.P50Ms;
                var relay50 = relay.P50Ms - direct.P50Ms;
                var yarp99 = yarp.P99Ms - direct.P99Ms;
                var relay99 = relay.P99Ms - direct.P99Ms;
                text.AppendLine(Invariant($"- {body}, {fixedLoad}: relay adds p50 {Ms(relay50)} vs YARP {Ms(yarp50)} → {Ratio(relay50, yarp50)} (target ≤ 1.25×): {(yarp50 <= 0 ? "n/a: YARP's p50 below direct's" : Verdict(relay50 <= 1.25 * yarp50))}{ByRound(direct, yarp, relay, r => AddedRatio(r, p => p.P50Ms), x => x <= 1.25, Times)}"));
                text.AppendLine(Invariant($"- {body}, {fixedLoad}: relay adds p99 {Ms(relay99)} vs YARP {Ms(yarp99)} → {Ratio(relay99, yarp99)} (target ≤ 1.5×): {(yarp99 <= 0 ? "n/a: YARP's p99 below direct's, the p99s are noise at this length" : Verdict(relay99 <= 1.5 * yarp99))}{ByRound(direct, yarp, relay, r => AddedRatio(r, p => p.P99Ms), x => x <= 1.5, Times)}"));
                if (stream)
                {
                    var added = relay.FirstByteP50Ms - direct.FirstByteP50Ms;
                    text.AppendLine(Invariant($"- stream, {fixedLoad}: relay adds {Ms(added)} to time to first byte (p50) over direct (target < 1 ms): {Verdict(added < 1.0)}{ByRound(direct, yarp, relay, r => r.Relay.FirstByteP50Ms - r.Direct!.FirstByteP50Ms, x => x < 1.0, AddedMs)}"));
                }
            }

            var yarpSat = results.FirstOrDefault(r => r.Target == "yarp" && r.Stream == stream && r.Load.StartsWith("closed", StringComparison.Ordinal));
            var relaySat = results.FirstOrDefault(r => r.Target == "relay" && r.Stream == stream && r.Load.StartsWith("closed", StringComparison.Ordinal));
            if (yarpSat is not null && relaySat is not null)
            {
                var ratio = relaySat.Throughput / yarpSat.Throughput;
                text.AppendLine(Invariant($"- {body}, saturation: relay {relaySat.Throughput:0} req/s vs YARP {yarpSat.Throughput:0} req/s → {ratio:0.00}× (target ≥ 0.8×): {Verdict(ratio >= 0.8)}{ByRound(null, yarpSat, relaySat, r => r.Relay.Throughput / r.Yarp.Throughput, x => x >= 0.8, Times)}"));
                if (separateProcesses)
                {
                    // Only here is a target's CPU its forwarding process's alone; in one process it is everyone's.
                    var cpu = relaySat.CpuMicrosecondsPerRequest / yarpSat.CpuMicrosecondsPerRequest;
                    text.AppendLine(Invariant($"- {body}, saturation: the relay's process {relaySat.CpuMicrosecondsPerRequest:0} µs CPU per request vs YARP's {yarpSat.CpuMicrosecondsPerRequest:0} µs → {cpu:0.00}× (target ≤ 1.5×): {Verdict(cpu <= 1.5)}{ByRound(null, yarpSat, relaySat, r => r.Relay.CpuMicrosecondsPerRequest / r.Yarp.CpuMicrosecondsPerRequest, x => x <= 1.5, Times)}"));
                }
            }
        }

        text.AppendLine(soakGrowthMb is { } growth
            ? Invariant($"- memory over {soakRequests} relay requests: heap after a full GC grew {growth:0.0} MB from the first tenth to the last (flat = within a few MB): {Verdict(growth < 5)}")
            : "- memory flat over 100k requests: not measured in this run (the default run measures it; with --quick add --soak 100000)");
        return text.ToString();
    }

    // How ByRound shows a ratio and an added time.
    private const string Times = "0.00×";
    private const string AddedMs = "+0.000' ms';-0.000' ms'";

    /// <summary>
    /// The same check on each round alone (the targets took turns round by round, so a round's three phases ran minutes
    /// apart at most): how far one run's verdict can be trusted on a machine whose speed moves. Empty for one round.
    /// </summary>
    private static string ByRound(PhaseResult? direct, PhaseResult yarp, PhaseResult relay, Func<RoundOf, double?> value, Func<double, bool> met, string format)
    {
        var count = relay.Rounds.Count;
        if (count < 2 || yarp.Rounds.Count != count || (direct is not null && direct.Rounds.Count != count))
        {
            return string.Empty;
        }

        var values = Enumerable.Range(0, count).Select(i => value(new RoundOf(direct?.Rounds[i], yarp.Rounds[i], relay.Rounds[i]))).ToList();
        var shown = values.Select(v => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "n/a");
        return $"; by round {string.Join(", ", shown)}: met in {values.Count(v => v is { } x && met(x))} of {count}";
    }

    /// <summary>The relay's added latency over YARP's at one percentile; null when YARP added nothing measurable.</summary>
    private static double? AddedRatio(RoundOf round, Func<PhaseResult, double> percentile)
    {
        var direct = percentile(round.Direct!);
        var yarp = percentile(round.Yarp) - direct;
        return yarp <= 0 ? null : (percentile(round.Relay) - direct) / yarp;
    }

    /// <summary>One round's phase of each target (<see cref="Direct"/> is null for the checks that do not compare with it).</summary>
    private sealed record RoundOf(PhaseResult? Direct, PhaseResult Yarp, PhaseResult Relay);

    private static PhaseResult? Find(IReadOnlyList<PhaseResult> results, string target, bool stream, string? load) =>
        results.FirstOrDefault(r => r.Target == target && r.Stream == stream && r.Load == load);

    private static string Ms(double value) => value.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture) + " ms";

    private static string Ratio(double relay, double yarp) =>
        yarp <= 0 ? "n/a (YARP added nothing measurable)" : (relay / yarp).ToString("0.00", CultureInfo.InvariantCulture) + "×";

    private static string Verdict(bool met) => met ? "**met**" : "**missed**";

    private static string Invariant(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
