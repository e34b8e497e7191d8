using System.Collections.Concurrent;

namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// The breakers of one provider key of an upstream that sends the caller's model name as it is (an upstream without
/// <c>UpstreamModel</c> of a wildcard entry such as <c>gpt-*</c>): one per model name sent, so a failing <c>gpt-a</c> does not
/// rest the key for <c>gpt-b</c>. At most <see cref="Capacity"/>: callers choose the names, and one breaker per name
/// they could send would grow without end.
/// </summary>
/// <remarks>
/// When it is full, a new name takes the place of the least recently used idle breaker (<see cref="UpstreamBreaker.Idle"/>:
/// closed and not resting), which loses at most the failures in that breaker's window (nothing, once it has been unused
/// for the window). A resting breaker is never dropped: callers sending new names must not put a failing model back in
/// rotation. When none is idle, the least recently used one whose break is over goes (it no longer rests: only its trial
/// is lost). When every one rests, a new name goes without a breaker until a break ends (its attempts are sent as with
/// breakers off, and rest only by the key's own breaker or cool-down).
/// </remarks>
internal sealed class ModelBreakers
{
    /// <summary>The most breakers kept per provider key.</summary>
    public const int Capacity = 128;

    private readonly ConcurrentDictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly Lock _adding = new();
    private long _clock;

    /// <summary>How many breakers it keeps.</summary>
    public int Count => _slots.Count;

    /// <summary>The breaker of <paramref name="model"/>, or null when none was made (or it was dropped).</summary>
    public UpstreamBreaker? Find(string model)
    {
        if (!_slots.TryGetValue(model, out var slot))
        {
            return null;
        }

        Volatile.Write(ref slot.LastUse, Interlocked.Increment(ref _clock));
        return slot.Breaker;
    }

    /// <summary>The breaker of <paramref name="model"/>, made by <paramref name="create"/> when there is none; null when every kept one rests.</summary>
    public UpstreamBreaker? GetOrAdd<TState>(string model, TState state, Func<TState, UpstreamBreaker> create)
    {
        if (Find(model) is { } found)
        {
            return found;
        }

        lock (_adding)
        {
            if (Find(model) is { } made)
            {
                return made;
            }

            if (_slots.Count >= Capacity && !DropLeastRecentlyUsed(static b => b.Idle) && !DropLeastRecentlyUsed(static b => b.BreakOver))
            {
                return null;
            }

            var slot = new Slot(create(state)) { LastUse = Interlocked.Increment(ref _clock) };
            _slots[model] = slot;
            return slot.Breaker;
        }
    }

    /// <summary>The breakers kept, by model name in ordinal order.</summary>
    public IEnumerable<(string Model, UpstreamBreaker Breaker)> All() =>
        _slots.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => (s.Key, s.Value.Breaker));

    /// <summary>
    /// Drops the least recently used breaker that <paramref name="droppable"/> allows. Idle ones go first; then one whose
    /// break is over: names a flood of callers sent once while the upstream failed are never sent again, so Polly would
    /// keep their breakers "open" (no attempt makes them half-open) and every new name would go without a breaker for good.
    /// </summary>
    private bool DropLeastRecentlyUsed(Func<UpstreamBreaker, bool> droppable)
    {
        string? oldest = null;
        var oldestUse = long.MaxValue;
        foreach (var (model, slot) in _slots)
        {
            var lastUse = Volatile.Read(ref slot.LastUse);
            if (lastUse < oldestUse && droppable(slot.Breaker))
            {
                oldest = model;
                oldestUse = lastUse;
            }
        }

        return oldest is not null && _slots.TryRemove(oldest, out _);
    }

    private sealed class Slot(UpstreamBreaker breaker)
    {
        public UpstreamBreaker Breaker { get; } = breaker;

        public long LastUse;
    }
}
