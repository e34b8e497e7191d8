using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>A <see cref="FakeRelay"/> (metered by the relay's own usage meter) and a way to wait for the background writer.</summary>
internal static class UsageRelay
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static FakeRelay Create(Action<Dictionary<string, string?>>? settings = null) =>
        FakeRelay.Create(settings);

    /// <summary>The records once the background writer has stored at least <paramref name="count"/>, oldest first.</summary>
    public static async Task<List<UsageRecord>> WaitForRecordsAsync(this FakeRelay relay, int count)
    {
        var store = relay.App.Services.GetRequiredService<IUsageStore>();
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var records = new List<UsageRecord>();
            await foreach (var record in store.ReadAsync(UsageFilter.All, CancellationToken.None))
            {
                records.Add(record);
            }

            if (records.Count >= count || DateTime.UtcNow > deadline)
            {
                Assert.True(records.Count >= count, $"Only {records.Count} of {count} usage records were stored in time.");
                return records;
            }

            // The writer stores records in the background; this only waits for it, bounded by the deadline.
            await Task.Delay(20);
        }
    }
}
