using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;

namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// A key as the operations API shows it: never its secret or its hash. <see cref="Source"/> is <c>created</c> (through
/// this API) or <c>configured</c> (in <c>ModelRelay:Keys</c> with a <c>Budget</c>; no creation time, revoked by
/// removing it from configuration).
/// </summary>
internal sealed record KeyView(
    string Id,
    string Name,
    string Source,
    IReadOnlyList<string> Models,
    string State,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ClosedAt,
    BalanceView? Balance,
    string? Secret = null)
{
    /// <summary>What the key's usage records cost in all (US dollars), on the key list and a key's read; left out elsewhere.</summary>
    public decimal? Spent { get; init; }

    public static KeyView From(CreatedRelayKey key, DateTimeOffset now, BudgetBalance? balance, string? secret = null) => new(
        key.Id, key.Name, "created", key.Models, key.StateAt(now), key.CreatedAt, key.ExpiresAt, key.RevokedAt, key.ClosedAt,
        balance is null ? null : BalanceView.From(balance), secret);

    public static KeyView From(ModelRelayKeyOptions key, BudgetBalance? balance) => new(
        key.Name!, key.Name!, "configured", [.. key.Models], balance?.Closed == true ? "closed" : "active", null, null, null, null,
        balance is null ? null : BalanceView.From(balance));
}
