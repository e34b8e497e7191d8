namespace RelayKit.AspNetCore.Hosting;

/// <summary><c>GET /v1/relay/requests/{id}/cost</c>: what one metered request held and was charged, in US dollars.</summary>
internal sealed record RequestCostView(string RequestId, string State, decimal Reserved, decimal? Charged, decimal? ReportedCost);
