using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// Bounds the tokenizer work one key can start at once: a large prompt (a body of at least
/// <see cref="BudgetEstimateOptions.LargePromptBytes"/>) is counted only while its key holds one of
/// <see cref="BudgetEstimateOptions.LargePromptCountsPerKey"/> slots; up to <see cref="BudgetEstimateOptions.LargePromptQueuePerKey"/>
/// more wait for one (asynchronously, no thread held), and the rest are refused. Small prompts never come here, and
/// another key's prompts never wait on this key's slots, so one key's large prompts take at most that many cores.
/// </summary>
internal sealed class PromptCountGate(IOptions<BudgetEstimateOptions> options)
{
    private readonly ConcurrentDictionary<string, KeySlots> _keys = new(StringComparer.Ordinal);

    /// <summary>Whether counting this request's prompt goes through the gate.</summary>
    public bool IsLarge(RelayRequestContext context) => context.Body is { } body && body.Raw.Length >= options.Value.LargePromptBytes;

    /// <summary>
    /// What a step that is about to count the request's prompt holds while it counts: nothing for a small prompt or a
    /// request without a key; a slot of the caller's key for a large one (disposed as soon as the count is done); or,
    /// when the key already has as many large prompts waiting as it may, a 429 in the caller's format, with
    /// <c>retry-after</c>, which the SDKs retry.
    /// </summary>
    public async ValueTask<(IDisposable? Slot, RelayError? Error)> EnterAsync(RelayRequestContext context)
    {
        if (!IsLarge(context) || context.Caller is not { } caller)
        {
            return (null, null);
        }

        if (await EnterAsync(caller.KeyName, context.RequestAborted) is { } slot)
        {
            return (slot, null);
        }

        RateLimitHeaderWriter.WriteRetryAfter(context.HttpContext.Response.Headers, TimeSpan.FromSeconds(1));
        return (null, RelayError.RateLimited(
            $"This relay key has {options.Value.LargePromptQueuePerKey} large prompts waiting to be counted already; try again in 1 s."));
    }

    /// <summary>
    /// Waits for one of <paramref name="keyName"/>'s counting slots. Null when the key already has as many prompts waiting
    /// as it may; otherwise the slot, which the caller disposes as soon as its counting is done.
    /// </summary>
    public async ValueTask<IDisposable?> EnterAsync(string keyName, CancellationToken cancellationToken)
    {
        var slots = _keys.GetOrAdd(keyName, static (_, o) => new KeySlots(o.LargePromptCountsPerKey), options.Value);
        if (Interlocked.Increment(ref slots.Waiting) > options.Value.LargePromptQueuePerKey && slots.Semaphore.CurrentCount == 0)
        {
            Interlocked.Decrement(ref slots.Waiting);
            return null;
        }

        try
        {
            await slots.Semaphore.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref slots.Waiting);
        }

        return new Slot(slots.Semaphore);
    }

    private sealed class KeySlots(int count)
    {
        public readonly SemaphoreSlim Semaphore = new(count, count);

        // Requests between arriving and holding a slot (those that take a free slot at once pass through too).
        public int Waiting;
    }

    private sealed class Slot(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                semaphore.Release();
            }
        }
    }
}
