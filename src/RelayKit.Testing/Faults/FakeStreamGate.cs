namespace RelayKit.Testing;

/// <summary>
/// Holds a streamed answer open at a chosen point so a test can observe what the client already has
/// (for example to prove a relay delivers events incrementally), then lets it continue.
/// </summary>
public sealed class FakeStreamGate
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the fake has flushed the events before the gate and is holding the stream.</summary>
    public Task Reached => _reached.Task;

    /// <summary>Lets the held stream continue.</summary>
    public void Release() => _released.TrySetResult();

    internal async Task HoldAsync(CancellationToken cancellationToken)
    {
        _reached.TrySetResult();
        await _released.Task.WaitAsync(cancellationToken);
    }
}
