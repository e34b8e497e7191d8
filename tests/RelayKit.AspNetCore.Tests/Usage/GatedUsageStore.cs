using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>
/// A real in-memory store whose writes wait at a gate the test opens, and which can fail its first
/// writes: lets a test hold the background writer mid-batch to fill the queue, or make the store flaky.
/// </summary>
internal sealed class GatedUsageStore : IUsageStore
{
    private readonly InMemoryUsageStore _inner = new();
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failuresLeft;

    public GatedUsageStore(bool open = false, int failFirst = 0)
    {
        _failuresLeft = failFirst;
        if (open)
        {
            _gate.SetResult();
        }
    }

    /// <summary>Completes when the writer first reaches the store.</summary>
    public TaskCompletionSource WriteStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Signals each failed write, with its number.</summary>
    public System.Threading.Channels.Channel<int> Failures { get; } = System.Threading.Channels.Channel.CreateUnbounded<int>();

    public int Attempts { get; private set; }

    public void Open() => _gate.TrySetResult();

    public async Task AppendAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
    {
        Attempts++;
        WriteStarted.TrySetResult();
        await _gate.Task.WaitAsync(cancellationToken);
        if (_failuresLeft > 0)
        {
            _failuresLeft--;
            await Failures.Writer.WriteAsync(Attempts, cancellationToken);
            throw new IOException("store unavailable");
        }

        await _inner.AppendAsync(records, cancellationToken);
    }

    public Task PingAsync(CancellationToken cancellationToken) => _inner.PingAsync(cancellationToken);

    public Task<UsagePage> QueryAsync(UsageFilter filter, int offset, int limit, CancellationToken cancellationToken) =>
        _inner.QueryAsync(filter, offset, limit, cancellationToken);

    public Task<IReadOnlyList<UsageDailyTotal>> GetDailyTotalsAsync(UsageFilter filter, CancellationToken cancellationToken) =>
        _inner.GetDailyTotalsAsync(filter, cancellationToken);

    public IAsyncEnumerable<UsageRecord> ReadAsync(UsageFilter filter, CancellationToken cancellationToken) =>
        _inner.ReadAsync(filter, cancellationToken);

    public async Task<string[]> StoredIdsAsync() =>
        (await _inner.QueryAsync(UsageFilter.All, 0, 1000, CancellationToken.None)).Records.Select(r => r.RequestId).Order(StringComparer.Ordinal).ToArray();
}
