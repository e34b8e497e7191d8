namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>What <see cref="HeldTokenizer"/>s saw: counts of large texts in flight, their peak, their total; and the gate that holds them.</summary>
internal sealed class TokenizerWatch(int largeChars, bool held)
{
    private readonly ManualResetEventSlim _release = new(!held);
    private readonly SemaphoreSlim _entered = new(0);
    private int _inFlight;
    private int _peak;
    private int _total;

    public int LargeChars { get; } = largeChars;

    public int Peak => Volatile.Read(ref _peak);

    public int InFlight => Volatile.Read(ref _inFlight);

    public int Total => Volatile.Read(ref _total);

    /// <summary>Lets every held count (and every later one) go on.</summary>
    public void Release() => _release.Set();

    /// <summary>Completes once a large count has begun (one per count).</summary>
    public Task WaitForEntryAsync() => _entered.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(t => Assert.True(t.Result, "no large prompt reached the tokenizer"));

    public void Enter()
    {
        Interlocked.Increment(ref _total);
        var now = Interlocked.Increment(ref _inFlight);
        int peak;
        while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
        {
        }

        _entered.Release();

        // Bounded: a test that forgets to release fails rather than hangs.
        Assert.True(_release.Wait(TimeSpan.FromSeconds(30)), "the held tokenizer was never released");
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);
}
