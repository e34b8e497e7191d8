namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// <c>GET /v1/relay/balance</c>: the caller's own key and, when it is metered, its money in US dollars (left out for an
/// unmetered key).
/// </summary>
internal sealed record CallerBalanceView(string Key, bool Metered, decimal? Balance = null, decimal? Reserved = null, decimal? Available = null, decimal? FreeCredit = null, bool? Closed = null);
