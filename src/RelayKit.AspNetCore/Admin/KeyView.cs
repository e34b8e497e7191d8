using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;

namespace RelayKit.AspNetCore.Admin;

/// <summary>A created key as the operations API shows it: never its secret or its hash.</summary>
internal sealed record KeyView(
    string Id,
    string Name,
    IReadOnlyList<string> Models,
    string State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ClosedAt,
    BalanceView? Balance,
    string? Secret = null)
{
    public static KeyView From(CreatedRelayKey key, DateTimeOffset now, BudgetBalance? balance, string? secret = null) => new(
        key.Id, key.Name, key.Models, key.StateAt(now), key.CreatedAt, key.ExpiresAt, key.RevokedAt, key.ClosedAt,
        balance is null ? null : BalanceView.From(balance), secret);
}
