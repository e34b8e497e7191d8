namespace RelayKit.AspNetCore.Usage.Stores;

/// <summary>Argument checks and value conversions the stores share.</summary>
internal static class UsageStoreArguments
{
    public const int MaxPageSize = 1000;

    /// <summary>SQLite has no exact decimal type, so it keeps cost as an integer count of 10⁻¹² USD (PostgreSQL uses numeric(30,12), the same precision).</summary>
    public const decimal PicoPerDollar = 1_000_000_000_000m;

    public static void CheckPage(int offset, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxPageSize);
    }

    public static long ToPico(decimal dollars) => (long)decimal.Round(dollars * PicoPerDollar, MidpointRounding.AwayFromZero);

    public static decimal FromPico(long pico) => pico / PicoPerDollar;

    /// <summary>Durations are kept as whole microseconds, the precision PostgreSQL timestamps have.</summary>
    public static long ToMicroseconds(TimeSpan value) => value.Ticks / TimeSpan.TicksPerMicrosecond;

    public static TimeSpan FromMicroseconds(long value) => TimeSpan.FromTicks(value * TimeSpan.TicksPerMicrosecond);

    public static long ToUnixMicroseconds(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    public static DateTimeOffset FromUnixMicroseconds(long value) => DateTimeOffset.UnixEpoch.AddTicks(value * TimeSpan.TicksPerMicrosecond);
}
