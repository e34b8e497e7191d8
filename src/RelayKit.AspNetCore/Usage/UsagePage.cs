namespace RelayKit.AspNetCore.Usage;

/// <summary>One page of usage records, newest first.</summary>
/// <param name="Records">The records on this page.</param>
/// <param name="NextOffset">The offset of the next page, or <see langword="null"/> when this is the last.</param>
public sealed record UsagePage(IReadOnlyList<UsageRecord> Records, int? NextOffset);
