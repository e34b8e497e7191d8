using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>Builds usage records for tests.</summary>
internal static class UsageRecords
{
    public static readonly DateTimeOffset Day1 = new(2025, 3, 10, 9, 30, 0, TimeSpan.Zero);

    public static UsageRecord Make(
        string id,
        DateTimeOffset? at = null,
        string? key = "team-a",
        string model = "gpt-4o",
        string? provider = "openai",
        long? input = 100,
        long? output = 20,
        decimal cost = 0.0012m,
        int status = 200) => new()
        {
            RequestId = id,
            Timestamp = at ?? Day1,
            KeyName = key,
            RequestedModel = model,
            Provider = provider,
            UpstreamModel = provider is null ? null : model + "-2024-08-06",
            Streamed = false,
            InputTokens = input,
            OutputTokens = output,
            Cost = cost,
            StatusCode = status,
            ErrorType = status >= 400 ? "upstream_error" : null,
            TimeToFirstByte = TimeSpan.FromMilliseconds(120),
            Duration = TimeSpan.FromMilliseconds(850),
        };
}
