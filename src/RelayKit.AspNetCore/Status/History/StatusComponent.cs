namespace RelayKit.AspNetCore.Status.History;

/// <summary>One row of the status page: a provider, or one of its models, with its figures from the stored history.</summary>
/// <param name="Id">A stable id made from the name (so no name is spliced into an id).</param>
/// <param name="Provider">The provider's name.</param>
/// <param name="Model">The upstream model, or empty for the provider row.</param>
/// <param name="Status">The Statuspage status: operational, degraded_performance, partial_outage or major_outage.</param>
/// <param name="Health">What the relay knows now (the provider's health, or the model's over the recent window from the history).</param>
/// <param name="Breakers">The breakers' state, as the page says it.</param>
/// <param name="Uptime">Uptime over 24 hours, 7, 30 and 90 days; null without traffic.</param>
/// <param name="Days">The last 90 days' uptime, oldest first; null for a day without traffic.</param>
/// <param name="ErrorRate">Failures over attempts in the last 24 hours.</param>
/// <param name="Latency">p50, p95 and p99 latency over the last 24 hours.</param>
/// <param name="Since">The first day with history, or now.</param>
internal sealed record StatusComponent(
    string Id, string Provider, string Model, string Status, string Health, string Breakers,
    IReadOnlyList<double?> Uptime, IReadOnlyList<double?> Days, double? ErrorRate, IReadOnlyList<TimeSpan?> Latency, DateTimeOffset Since);
