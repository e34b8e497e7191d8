using System.Threading.RateLimiting;

namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The concurrency slots of one counter, in process: at most the limit in use, then a first-come queue.
/// </summary>
/// <remarks>
/// Hand-written rather than System.Threading.RateLimiting's <c>ConcurrencyLimiter</c>, whose permit limit is fixed
/// when it is made: a configuration reload that changes <c>MaxConcurrentRequests</c> would need a new limiter that
/// knows nothing of the slots the old one handed out, so the requests in flight would not count against the new
/// limit. Here the limit is given with every acquire and the slots in use are one count per counter, as the Redis
/// limiter keeps them.
/// </remarks>
internal sealed class ConcurrencyGate(int queueLimit)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource> _queue = new();
    private int _inUse;
    private int _limit;

    /// <summary>A slot at once, or a lease that is not acquired when all <paramref name="limit"/> are in use.</summary>
    public RateLimitLease TryAcquire(int limit)
    {
        lock (_lock)
        {
            SetLimitLocked(limit);
            if (_inUse < limit && _queue.Count == 0)
            {
                _inUse++;
                return new Slot(this);
            }
        }

        return Refused.Lease;
    }

    /// <summary>
    /// A slot, waiting in line for one when all <paramref name="limit"/> are in use; a lease that is not acquired
    /// when the line is full. Cancelling <paramref name="cancellationToken"/> leaves the line and throws.
    /// </summary>
    public async ValueTask<RateLimitLease> AcquireAsync(int limit, CancellationToken cancellationToken)
    {
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            SetLimitLocked(limit);
            if (_inUse < limit && _queue.Count == 0)
            {
                _inUse++;
                return new Slot(this);
            }

            if (_queue.Count >= queueLimit)
            {
                return Refused.Lease;
            }

            node = _queue.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }

        using (cancellationToken.UnsafeRegister(
            static (state, token) =>
            {
                var (gate, waiting) = ((ConcurrencyGate, LinkedListNode<TaskCompletionSource>))state!;
                gate.Leave(waiting, token);
            },
            (this, node)))
        {
            // A slot handed over before the cancellation won is the caller's: Release counted it in.
            await node.Value.Task;
        }

        return new Slot(this);
    }

    private void Leave(LinkedListNode<TaskCompletionSource> waiting, CancellationToken token)
    {
        lock (_lock)
        {
            // Still in line: it leaves without a slot. Already out of line: Release handed it one, which it keeps.
            if (waiting.List is not null)
            {
                _queue.Remove(waiting);
                waiting.Value.TrySetCanceled(token);
            }
        }
    }

    private void Release()
    {
        lock (_lock)
        {
            _inUse--;
            DispatchLocked();
        }
    }

    /// <summary>Takes the limit of the latest acquire; a raised one hands its new slots to the waiters at once.</summary>
    private void SetLimitLocked(int limit)
    {
        _limit = limit;
        DispatchLocked();
    }

    /// <summary>Hands free slots to the oldest waiters, as many as the current limit allows (none after it was lowered).</summary>
    private void DispatchLocked()
    {
        while (_queue.First is { } first && _inUse < _limit)
        {
            _queue.RemoveFirst();
            if (first.Value.TrySetResult())
            {
                _inUse++;
            }
        }
    }

    private sealed class Slot(ConcurrencyGate gate) : RateLimitLease
    {
        private int _released;

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }

    private sealed class Refused : RateLimitLease
    {
        public static readonly Refused Lease = new();

        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
