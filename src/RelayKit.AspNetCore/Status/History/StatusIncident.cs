namespace RelayKit.AspNetCore.Status.History;

/// <summary>
/// A stretch of trouble at one upstream: a breaker that opened (until it closed again) or probes that failed (until one
/// succeeded). Kept by the instance that saw it; an instance sharing the store records its own. An instance that stops
/// while one lasts can no longer end it: the store ends it when that instance has not seen it for a while.
/// </summary>
/// <param name="Id">A random id, the row's key.</param>
/// <param name="Provider">The provider's name.</param>
/// <param name="Model">The upstream model, or empty for the provider as a whole (a probe).</param>
/// <param name="Kind"><c>breaker</c> or <c>probe</c>.</param>
/// <param name="Title">What happened, for people (names only places such as <c>openai#0</c>, never a key).</param>
/// <param name="StartedAt">When it began.</param>
/// <param name="EndedAt">When it ended; null while it lasts.</param>
internal sealed record StatusIncident(string Id, string Provider, string Model, string Kind, string Title, DateTimeOffset StartedAt, DateTimeOffset? EndedAt)
{
    /// <summary>
    /// When the instance that keeps it last saw it lasting (the writer sends every lasting incident again on each write):
    /// an incident nobody has seen for <see cref="StatusHistoryWriter.AbandonedAfter"/> belongs to an instance that
    /// stopped, and is ended at this time. Null means its start or end.
    /// </summary>
    public DateTimeOffset? SeenAt { get; init; }

    /// <summary>How long it lasted, or has lasted until <paramref name="now"/>.</summary>
    public TimeSpan Duration(DateTimeOffset now) => (EndedAt ?? now) - StartedAt;
}
