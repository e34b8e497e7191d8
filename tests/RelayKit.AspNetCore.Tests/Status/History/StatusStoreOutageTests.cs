using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Status.History;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Status.History;

/// <summary>The status page and its summary while the history's database is down: a retryable 503, never a 500.</summary>
public sealed class StatusStoreOutageTests
{
    [Theory]
    [InlineData("relay/status", "text/html")]
    [InlineData("relay/status/summary.json", "application/json")]
    public async Task A_history_store_outage_is_a_retryable_503_not_a_500(string path, string accept)
    {
        await using var relay = FakeRelay.Create(services: s => s.AddSingleton<IStatusStore>(new DownStatusStore()));
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd(accept);

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(503, (int)response.StatusCode);
        Assert.Contains("store_unavailable", body, StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("retry-after"));
        Assert.DoesNotContain("DownStatusStore", body, StringComparison.Ordinal);
    }

    private sealed class DownStatusStore : IStatusStore
    {
        private static Exception Down() => new TimeoutException("the status database did not answer");

        public Task AddAsync(IReadOnlyList<StatusMinute> minutes, IReadOnlyList<StatusIncident> incidents, CancellationToken cancellationToken) => throw Down();

        public Task RollUpAsync(DateTimeOffset from, DateTimeOffset to, double downErrorRate, CancellationToken cancellationToken) => throw Down();

        public Task<int> EndAbandonedAsync(DateTimeOffset seenBefore, CancellationToken cancellationToken) => throw Down();

        public Task PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) => throw Down();

        public Task<IReadOnlyList<StatusBucket>> ReadAsync(int resolution, DateTimeOffset from, CancellationToken cancellationToken) => throw Down();

        public Task<IReadOnlyList<StatusIncident>> IncidentsAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) => throw Down();
    }
}
