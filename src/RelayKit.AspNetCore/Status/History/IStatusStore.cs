namespace RelayKit.AspNetCore.Status.History;

/// <summary>
/// Where the status page's history is kept: in the usage store's database (the same SQLite file or PostgreSQL schema),
/// or in memory. Every write adds to what is there, so instances sharing one database make one history.
/// </summary>
internal interface IStatusStore
{
    /// <summary>Adds minutes' counts (and their latency bins) to the stored minutes, and saves incidents (new or ended) by id.</summary>
    Task AddAsync(IReadOnlyList<StatusMinute> minutes, IReadOnlyList<StatusIncident> incidents, CancellationToken cancellationToken);

    /// <summary>
    /// Rolls the minutes of the hours from <paramref name="from"/> to <paramref name="to"/> up into hour rows, and those
    /// hours' days into day rows. A rollup replaces the rows it makes (it sums what is stored), so running it again,
    /// from any instance, after more minutes came in, gives the right totals. A minute counts as up when its error rate,
    /// all instances' attempts together, is under <paramref name="downErrorRate"/>.
    /// </summary>
    Task RollUpAsync(DateTimeOffset from, DateTimeOffset to, double downErrorRate, CancellationToken cancellationToken);

    /// <summary>
    /// Ends every lasting incident that its instance has not seen since <paramref name="seenBefore"/> (that instance
    /// stopped, or lost the store), at the time it was last seen; returns how many. Its instance, back, opens it again.
    /// </summary>
    Task<int> EndAbandonedAsync(DateTimeOffset seenBefore, CancellationToken cancellationToken);

    /// <summary>Deletes what is older than each period's retention (<see cref="StatusResolution"/>), and incidents ended before the day retention.</summary>
    Task PruneAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Every upstream's rows of one resolution from <paramref name="from"/> on, oldest first.</summary>
    Task<IReadOnlyList<StatusBucket>> ReadAsync(int resolution, DateTimeOffset from, CancellationToken cancellationToken);

    /// <summary>Incidents that started since <paramref name="since"/> or still last, newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StatusIncident>> IncidentsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken);
}
