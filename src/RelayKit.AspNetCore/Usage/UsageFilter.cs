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

    /// <summary>Only records from this UTC day on.</summary>
    public DateOnly? FromDay { get; init; }

    /// <summary>Only records up to and including this UTC day.</summary>
    public DateOnly? ToDay { get; init; }

    /// <summary>A filter that matches every record.</summary>
    public static UsageFilter All { get; } = new();

    internal bool Matches(UsageRecord record)
    {
        var day = DateOnly.FromDateTime(record.Timestamp.UtcDateTime);
        return (KeyName is null || string.Equals(record.KeyName, KeyName, StringComparison.Ordinal))
            && (Model is null || string.Equals(record.RequestedModel, Model, StringComparison.Ordinal))
            && (Provider is null || string.Equals(record.Provider, Provider, StringComparison.Ordinal))
            && (FromDay is null || day >= FromDay.Value)
            && (ToDay is null || day <= ToDay.Value);
    }

    /// <summary>The inclusive lower and exclusive upper timestamp bounds of the day range.</summary>
    internal (DateTimeOffset? From, DateTimeOffset? Until) TimeRange() =>
        (FromDay is { } from ? new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null,
         ToDay is { } to ? new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null);
}
