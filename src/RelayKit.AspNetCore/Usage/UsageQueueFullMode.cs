namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// What happens to a usage record when the background write queue is full (the store has fallen
/// behind by <see cref="UsageOptions.QueueCapacity"/> records). Every dropped record is still
/// logged, counted in the <c>relaykit.usage.dropped</c> metric and reported in a warning.
/// </summary>
public enum UsageQueueFullMode
{
    /// <summary>Drop the new record; the request is never slowed. The default.</summary>
    DropNewest,

    /// <summary>Drop the oldest queued record to make room; the request is never slowed.</summary>
    DropOldest,

    /// <summary>Make the request wait until the queue has room: no record is lost, but a slow store slows requests.</summary>
    Wait,
}
