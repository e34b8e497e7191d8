using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Keys;

/// <summary>
/// Who is calling, as step 1 found it: the relay key's name (never its secret) and the models it may use.
/// Later steps hang budgets and limits on the key name.
/// </summary>
internal sealed class RelayCaller(string keyName, IReadOnlyList<ModelPattern> models, bool closed = false)
{
    public string KeyName { get; } = keyName;

    /// <summary>
    /// Whether the key was refunded and closed: it may no longer make requests, but its holder may still read
    /// what its past requests used and cost. Authentication refuses such a caller unless the endpoint only reads.
    /// </summary>
    public bool Closed { get; } = closed;

    /// <summary>The model names and patterns the key may use; empty means every model.</summary>
    public IReadOnlyList<ModelPattern> Models { get; } = models;

    public bool MayUse(string model) => Models.Count == 0 || Models.Any(p => p.Matches(model));

    public override string ToString() => KeyName;
}
