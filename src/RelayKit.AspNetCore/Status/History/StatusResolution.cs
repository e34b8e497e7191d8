namespace RelayKit.AspNetCore.Status.History;

/// <summary>The stored periods, in minutes, and how long each is kept.</summary>
internal static class StatusResolution
{
    public const int Minute = 1;
    public const int Hour = 60;
    public const int Day = 1440;

    /// <summary>Minute rows are kept 48 hours: long enough to roll every hour up again when a late instance adds to it.</summary>
    public static readonly TimeSpan MinuteRetention = TimeSpan.FromHours(48);

    /// <summary>Hour rows are kept 14 days: the last 24 hours' figures come from them, and days are rolled up from them.</summary>
    public static readonly TimeSpan HourRetention = TimeSpan.FromDays(14);

    /// <summary>Day rows and incidents are kept 100 days: the 90-day bar and uptime, with room for time zones and late rollups.</summary>
    public static readonly TimeSpan DayRetention = TimeSpan.FromDays(100);

    /// <summary>Whole minutes since the Unix epoch.</summary>
    public static long MinuteOf(DateTimeOffset time) => Math.DivRem(time.ToUnixTimeMilliseconds(), 60_000, out var rem) - (rem < 0 ? 1 : 0);

    /// <summary>The start of the period of <paramref name="resolution"/> minutes holding <paramref name="minute"/>.</summary>
    public static long Floor(long minute, int resolution) => minute - (((minute % resolution) + resolution) % resolution);

    /// <summary>The time at the start of a minute.</summary>
    public static DateTimeOffset TimeOf(long minute) => DateTimeOffset.FromUnixTimeMilliseconds(minute * 60_000);
}
