namespace RelayKit.LoadBench;

/// <summary>
/// What wrk reported for one run: answers with a 2xx status, the rest (non-2xx answers and socket errors), and the
/// latency percentiles of its own histogram. wrk gives percentiles, not samples, so a phase of several rounds reports
/// the request-weighted mean of its rounds' percentiles (<see cref="Merge"/>).
/// </summary>
internal sealed record WrkSummary(int Ok, int Failed, double P50Ms, double P99Ms, string Errors)
{
    public static WrkSummary Merge(IReadOnlyList<WrkSummary> rounds)
    {
        var ok = rounds.Sum(r => r.Ok);
        double Weighted(Func<WrkSummary, double> value) => ok == 0 ? double.NaN : rounds.Sum(r => value(r) * r.Ok) / ok;
        return new WrkSummary(ok, rounds.Sum(r => r.Failed), Weighted(r => r.P50Ms), Weighted(r => r.P99Ms),
            string.Join(", ", rounds.Select(r => r.Errors).Where(e => e.Length > 0)));
    }
}
