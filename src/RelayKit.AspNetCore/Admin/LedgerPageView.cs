namespace RelayKit.AspNetCore.Admin;

/// <summary>A page of a key's ledger; <see cref="NextAfter"/> is the <c>after</c> value for the next page, null on the last.</summary>
internal sealed record LedgerPageView(string KeyId, IReadOnlyList<LedgerEntryView> Entries, long? NextAfter);
