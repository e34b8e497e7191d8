namespace RelayKit.AspNetCore.Usage;

/// <summary>Sums over a day, a model, or a day and model (whichever of <see cref="Day"/> and <see cref="Model"/> are set).</summary>
internal sealed record UsageTotalsView(
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
    public static UsageTotalsView Of(IReadOnlyCollection<UsageDailyTotal> totals, string? day, string? model) => new(
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
