namespace RelayKit.AspNetCore.Hosting;

/// <summary><c>POST /v1/relay/estimate</c>: the worst-case cost of a request body, priced without sending it.</summary>
internal sealed record EstimateView(
    string Model,
    decimal WorstCaseCost,
    long PromptTokens,
    long OutputTokens,
    bool ExactTokenizer,
    bool HasUncountedContext,
    string? OutputLimitSetByRelay);
