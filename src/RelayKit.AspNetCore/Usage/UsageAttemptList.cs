using System.Collections;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The attempts of a <see cref="UsageRecord"/>: an immutable copy that compares by its items, so two records with the same
/// attempts are equal (as a record read back from a store is to the one written).
/// </summary>
internal sealed class UsageAttemptList : IReadOnlyList<UsageAttempt>, IEquatable<UsageAttemptList>
{
    /// <summary>No attempts: the record of a request that never reached an upstream.</summary>
    public static readonly UsageAttemptList Empty = new([]);

    private readonly UsageAttempt[] _items;

    private UsageAttemptList(UsageAttempt[] items) => _items = items;

    public int Count => _items.Length;

    public UsageAttempt this[int index] => _items[index];

    /// <summary>The attempts as a record keeps them: <paramref name="attempts"/> itself when it is one, else a copy; none for null.</summary>
    public static UsageAttemptList Of(IEnumerable<UsageAttempt>? attempts)
    {
        if (attempts is UsageAttemptList list)
        {
            return list;
        }

        if (attempts is null)
        {
            return Empty;
        }

        UsageAttempt[] items = [.. attempts];
        if (items.Length == 0)
        {
            return Empty;
        }

        if (Array.IndexOf(items, null) >= 0)
        {
            throw new ArgumentException("An attempt is null.", nameof(attempts));
        }

        return new UsageAttemptList(items);
    }

    /// <summary>The attempts <paramref name="first"/>, then <paramref name="later"/>, copied.</summary>
    public static UsageAttemptList Of(UsageAttempt first, List<UsageAttempt>? later)
    {
        if (later is null or { Count: 0 })
        {
            return new UsageAttemptList([first]);
        }

        var items = new UsageAttempt[later.Count + 1];
        items[0] = first;
        later.CopyTo(items, 1);
        return new UsageAttemptList(items);
    }

    public bool Equals(UsageAttemptList? other) =>
        other is not null && (ReferenceEquals(this, other) || _items.AsSpan().SequenceEqual(other._items));

    public override bool Equals(object? obj) => Equals(obj as UsageAttemptList);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in _items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => "[" + string.Join(", ", (IEnumerable<UsageAttempt>)_items) + "]";

    public IEnumerator<UsageAttempt> GetEnumerator() => ((IEnumerable<UsageAttempt>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
