namespace RelayKit.AspNetCore.Usage;

/// <summary>Which usage records a query selects; every criterion left <see langword="null"/> matches all.</summary>
public sealed record UsageFilter
{
    /// <summary>Only records made with this relay key name.</summary>
    public string? KeyName { get; init; }

    /// <summary>Only records whose requested model is this one.</summary>
    public string? Model { get; init; }

    /// <summary>Only records answered by this upstream.</summary>
    public string? Provider { get; init; }

    /// <summary>Only failed records (status 400 or above) when <see langword="true"/>, only the others when <see langword="false"/>.</summary>
    public bool? Failed { get; init; }

    /// <summary>Only records from this UTC day on.</summary>
    public DateOnly? FromDay { get; init; }

    /// <summary>Only records up to and including this UTC day.</summary>
    public DateOnly? ToDay { get; init; }

    /// <summary>Only records from this instant on (inclusive); combined with <see cref="FromDay"/>, the later bound wins.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only records before this instant (exclusive); combined with <see cref="ToDay"/>, the earlier bound wins.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>A filter that matches every record.</summary>
    public static UsageFilter All { get; } = new();

    internal bool Matches(UsageRecord record)
    {
        var (from, until) = TimeRange();
        return (KeyName is null || string.Equals(record.KeyName, KeyName, StringComparison.Ordinal))
            && (Model is null || string.Equals(record.RequestedModel, Model, StringComparison.Ordinal))
            && (Provider is null || string.Equals(record.Provider, Provider, StringComparison.Ordinal))
            && (Failed is null || record.IsError == Failed.Value)
            && (from is null || record.Timestamp >= from.Value)
            && (until is null || record.Timestamp < until.Value);
    }

    /// <summary>The inclusive lower and exclusive upper timestamp bounds of the day range and the instants, whichever is narrower.</summary>
    internal (DateTimeOffset? From, DateTimeOffset? Until) TimeRange()
    {
        DateTimeOffset? from = FromDay is { } fromDay ? new DateTimeOffset(fromDay.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null;
        DateTimeOffset? until = ToDay is { } toDay ? new DateTimeOffset(toDay.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null;
        if (From is { } fromInstant && (from is null || fromInstant > from))
        {
            from = fromInstant.ToUniversalTime();
        }

        if (Until is { } untilInstant && (until is null || untilInstant < until))
        {
            until = untilInstant.ToUniversalTime();
        }

        return (from, until);
    }
}
