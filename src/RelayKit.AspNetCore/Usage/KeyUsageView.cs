using System.Text.Json.Serialization;
using RelayKit.AspNetCore.Admin;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// <c>GET /relay/usage</c>: one key's balance (null without budgets or an account), its totals by day, by model and
/// by day and model over <see cref="From"/> to <see cref="To"/> (UTC days, <c>yyyy-MM-dd</c>), and its recent requests.
/// </summary>
internal sealed record KeyUsageView(
    string Key,
    string Currency,
    string From,
    string To,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] BalanceView? Balance,
    IReadOnlyList<KeyUsageView.TotalsView> ByDay,
    IReadOnlyList<KeyUsageView.TotalsView> ByModel,
    IReadOnlyList<KeyUsageView.TotalsView> Daily,
    IReadOnlyList<KeyUsageView.RequestView> Recent)
{
    /// <summary>Sums over a day, a model, or a day and model (whichever of <see cref="Day"/> and <see cref="Model"/> are set).</summary>
    internal sealed record TotalsView(
        string? Day,
        string? Model,
        long Requests,
        long Errors,
        long InputTokens,
        long OutputTokens,
        long CachedInputTokens,
        long CacheWriteTokens,
        long ReasoningTokens,
        decimal Cost)
    {
        public static TotalsView Of(IReadOnlyCollection<UsageDailyTotal> totals, string? day, string? model) => new(
            day,
            model,
            totals.Sum(t => t.Requests),
            totals.Sum(t => t.Errors),
            totals.Sum(t => t.InputTokens),
            totals.Sum(t => t.OutputTokens),
            totals.Sum(t => t.CachedInputTokens),
            totals.Sum(t => t.CacheWriteTokens),
            totals.Sum(t => t.ReasoningTokens),
            totals.Sum(t => t.Cost));
    }

    /// <summary>One recent request; token counts the upstream did not report are left out.</summary>
    internal sealed record RequestView(
        string RequestId,
        DateTimeOffset Timestamp,
        string Model,
        string? Provider,
        string? UpstreamModel,
        bool Streamed,
        int Status,
        string? ErrorType,
        long? InputTokens,
        long? OutputTokens,
        long? CachedInputTokens,
        long? CacheWriteTokens,
        long? ReasoningTokens,
        decimal Cost,
        double? TimeToFirstByteMs,
        double DurationMs)
    {
        public static RequestView From(UsageRecord record) => new(
            record.RequestId, record.Timestamp, record.RequestedModel, record.Provider, record.UpstreamModel, record.Streamed, record.StatusCode,
            record.ErrorType, record.InputTokens, record.OutputTokens, record.CachedInputTokens, record.CacheWriteTokens, record.ReasoningTokens,
            record.Cost, record.TimeToFirstByte?.TotalMilliseconds, record.Duration.TotalMilliseconds);
    }
}
