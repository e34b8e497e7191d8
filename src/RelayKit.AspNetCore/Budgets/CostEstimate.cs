namespace RelayKit.AspNetCore.Budgets;

/// <summary>The worst-case cost of one request, before it is sent.</summary>
/// <param name="PromptTokens">Prompt tokens counted, safety margin and allowances included.</param>
/// <param name="OutputTokens">The most output tokens the request may produce (all choices).</param>
/// <param name="Cost">The most the request can cost, in US dollars.</param>
/// <param name="ExactTokenizer">The prompt was counted with the model's own tokenizer (no margin).</param>
/// <param name="OutputLimitFromRequest">
/// The request itself limits its output; when false the limit came from the model's cap or the
/// default, and the relay must set it on the forwarded request for the estimate to hold.
/// </param>
/// <param name="HasUncountedContext">
/// The request refers to context the relay cannot see (a previous response, a conversation, an
/// uploaded file), so the real prompt may be larger than counted.
/// </param>
internal sealed record CostEstimate(
    long PromptTokens,
    long OutputTokens,
    decimal Cost,
    bool ExactTokenizer,
    bool OutputLimitFromRequest,
    bool HasUncountedContext);
