namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// One upstream attempt of a request as the usage JSON shows it (<c>GET /relay/usage</c>'s recent requests, the operations
/// API's usage records): the status it answered, or the error when none came, and the latency in milliseconds.
/// </summary>
internal sealed record UsageAttemptView(string Provider, string UpstreamModel, int? StatusCode, string? ErrorType, double LatencyMs)
{
    public static UsageAttemptView From(UsageAttempt attempt) =>
        new(attempt.Provider, attempt.UpstreamModel, attempt.StatusCode, attempt.ErrorType, attempt.Latency.TotalMilliseconds);

    public static IReadOnlyList<UsageAttemptView> Of(IReadOnlyList<UsageAttempt> attempts)
    {
        if (attempts.Count == 0)
        {
            return [];
        }

        var views = new UsageAttemptView[attempts.Count];
        for (var i = 0; i < views.Length; i++)
        {
            views[i] = From(attempts[i]);
        }

        return views;
    }
}
