namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// <c>GET {prefix}/spend</c>: the usage records a filter selects, totalled by key and by model (most cost first) and by
/// UTC day (oldest first, days without records between the first and the last included as zero, so a chart of them
/// has no silent gaps).
/// </summary>
internal sealed record SpendView(
    long Requests,
    long Errors,
    decimal Cost,
    IReadOnlyList<SpendTotalView> ByKey,
    IReadOnlyList<SpendTotalView> ByModel,
    IReadOnlyList<SpendTotalView> ByDay);
