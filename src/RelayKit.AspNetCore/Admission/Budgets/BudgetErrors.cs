using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Admission.Budgets;

/// <summary>The errors budget admission answers with, in each provider's own out-of-credit convention.</summary>
internal static class BudgetErrors
{
    /// <summary>
    /// Not enough balance: OpenAI answers 429 <c>insufficient_quota</c>, Anthropic 402 <c>billing_error</c>. Both
    /// carry <c>x-should-retry: false</c> (the error writer sets it below 500), so the SDKs do not retry.
    /// </summary>
    /// <param name="format">The caller's wire format.</param>
    /// <param name="needed">The worst case, or (<paramref name="atLeast"/>) a lower bound of it.</param>
    /// <param name="available">What the key has available.</param>
    /// <param name="atLeast">Whether <paramref name="needed"/> is only a lower bound (a large prompt refused before it was counted).</param>
    public static RelayError InsufficientBalance(WireFormat format, decimal needed, decimal available, bool atLeast = false) => new(
        format == WireFormat.Anthropic ? StatusCodes.Status402PaymentRequired : StatusCodes.Status429TooManyRequests,
        RelayErrorKind.InsufficientQuota,
        "insufficient_quota",
        $"This relay key's balance is too low for this request: its worst case costs {(atLeast ? "at least " : "")}${needed:0.######}, ${Math.Max(0m, available):0.######} is available. Lower max_tokens or top up the key.");

    /// <summary>The key's account was refunded and closed (a configured key's, which authentication does not know about).</summary>
    public static RelayError AccountClosed() => RelayError.KeyClosed();

    /// <summary>A key with a budget asked for a model that has no price and is not marked free.</summary>
    public static RelayError ModelNotPriced(string model) => new(
        StatusCodes.Status400BadRequest,
        RelayErrorKind.InvalidRequest,
        "model_not_priced",
        $"The model '{model}' has no price on this relay, so a key with a budget cannot use it. The operator sets Models:<name>:Price (or Free: true).",
        "model");
}
