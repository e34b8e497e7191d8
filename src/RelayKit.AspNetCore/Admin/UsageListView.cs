namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// A page of <c>GET {prefix}/usage</c>, newest first; <see cref="NextOffset"/> is the <c>offset</c> of the next page,
/// left out on the last. Costs are US dollars.
/// </summary>
internal sealed record UsageListView(IReadOnlyList<UsageRecordView> Records, int? NextOffset);
