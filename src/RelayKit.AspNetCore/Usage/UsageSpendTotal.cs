namespace RelayKit.AspNetCore.Usage;

/// <summary>What one key spent on one model on one UTC day: the store's sums, for the operations API's <c>GET spend</c>.</summary>
/// <param name="Day">The UTC day.</param>
/// <param name="KeyName">The relay key's name, or null for records without one.</param>
/// <param name="Model">The requested model.</param>
/// <param name="Requests">How many requests.</param>
/// <param name="Errors">How many of them failed (status 400 or above).</param>
/// <param name="InputTokens">Sum of input tokens.</param>
/// <param name="OutputTokens">Sum of output tokens.</param>
/// <param name="Cost">Sum of cost, in US dollars.</param>
internal sealed record UsageSpendTotal(
    DateOnly Day, string? KeyName, string Model, long Requests, long Errors, long InputTokens, long OutputTokens, decimal Cost);
