using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admin;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Status;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// <c>GET /relay/usage</c>: with the caller's own relay key (Bearer or <c>x-api-key</c>), JSON of that
/// key's balance, requests and spend by model and day, and recent requests; for a browser (no key
/// needed to load it), a page that asks for the key, keeps it in the tab's sessionStorage only and
/// draws the same JSON, spend by day included, with the key's top-ups and refunds (from <c>/v1/relay/ledger</c>) and the
/// operator's refund policy.
/// </summary>
internal sealed class UsageEndpoint(
    RelayKeyAuthenticator authenticator, IUsageStore store, TimeProvider timeProvider, IOptionsMonitor<RelayBillingOptions> billing, IServiceProvider services)
{
    /// <summary>How many days of totals the answer covers, today included.</summary>
    public const int Days = 30;

    /// <summary>How many recent requests the answer lists.</summary>
    public const int RecentCount = 20;

    private readonly IBudgetLedger? _ledger = services.GetService<IBudgetLedger>();

    public async Task HandleAsync(HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-store";
        // A closed (refunded) key still reads what its past requests cost.
        var (caller, error) = await authenticator.AuthenticateAsync(http.Request, http.RequestAborted, allowClosed: true);
        if (caller is null && RelayPageResponses.WantsHtml(http.Request))
        {
            var nonce = RelayPageResponses.NewNonce();
            await RelayPageResponses.WriteHtmlAsync(http, UsagePageHtml.Render(nonce), nonce);
            return;
        }

        if (caller is null)
        {
            await RelayErrorWriter.WriteAsync(http, WireFormat.OpenAI, error!);
            return;
        }

        await Results.Json(await BuildAsync(caller.KeyName, http.RequestAborted), RelayJsonContext.Default.KeyUsageView).ExecuteAsync(http);
    }

    /// <summary>The usage of one key.</summary>
    public async Task<KeyUsageView> BuildAsync(string keyName, CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
        var filter = new UsageFilter { KeyName = keyName, FromDay = today.AddDays(1 - Days), ToDay = today };
        var totals = await store.GetDailyTotalsAsync(filter, cancellationToken);
        var recent = await store.GetRecentAsync(keyName, RecentCount, cancellationToken);

        return new KeyUsageView(
            keyName,
            "USD",
            Day(filter.FromDay!.Value),
            Day(today),
            await BalanceAsync(keyName, cancellationToken),
            [.. totals.GroupBy(t => t.Day).OrderBy(g => g.Key).Select(g => UsageTotalsView.Of([.. g], Day(g.Key), null))],
            [.. totals.GroupBy(t => t.Model, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => UsageTotalsView.Of([.. g], null, g.Key))],
            [.. totals.Select(t => UsageTotalsView.Of([t], Day(t.Day), t.Model))],
            [.. recent.Select(UsageRequestView.From)],
            billing.CurrentValue.EffectiveRefundPolicy);
    }

    private async Task<BalanceView?> BalanceAsync(string keyName, CancellationToken cancellationToken) =>
        _ledger is not null && await _ledger.GetBalanceAsync(keyName, cancellationToken) is { } balance ? BalanceView.From(balance) : null;

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
