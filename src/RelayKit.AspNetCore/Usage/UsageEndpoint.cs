using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Status;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// <c>GET /relay/usage</c>: with the caller's own relay key (Bearer or <c>x-api-key</c>), JSON of that
/// key's balance, requests and spend by model and day, and recent requests; for a browser (no key
/// needed to load it), a page that asks for the key, keeps it in the tab's sessionStorage only and
/// draws the same JSON, spend by day included.
/// </summary>
internal sealed class UsageEndpoint(RelayKeyAuthenticator authenticator, IUsageStore store, TimeProvider timeProvider, IServiceProvider services)
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

        await RelayPageResponses.WriteJsonAsync(http, await BuildAsync(caller.KeyName, http.RequestAborted));
    }

    /// <summary>The usage of one key, as JSON.</summary>
    public async Task<JsonObject> BuildAsync(string keyName, CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
        var filter = new UsageFilter { KeyName = keyName, FromDay = today.AddDays(1 - Days), ToDay = today };
        var totals = await store.GetDailyTotalsAsync(filter, cancellationToken);
        var recent = await store.GetRecentAsync(keyName, RecentCount, cancellationToken);

        var byDay = new JsonArray();
        foreach (var day in totals.GroupBy(t => t.Day).OrderBy(g => g.Key))
        {
            byDay.Add(Totals(day.ToList(), new JsonObject { ["day"] = day.Key.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) }));
        }

        var byModel = new JsonArray();
        foreach (var model in totals.GroupBy(t => t.Model, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            byModel.Add(Totals(model.ToList(), new JsonObject { ["model"] = model.Key }));
        }

        var daily = new JsonArray();
        foreach (var total in totals)
        {
            daily.Add(Totals([total], new JsonObject
            {
                ["day"] = total.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                ["model"] = total.Model,
            }));
        }

        var requests = new JsonArray();
        foreach (var record in recent)
        {
            requests.Add(new JsonObject
            {
                ["request_id"] = record.RequestId,
                ["timestamp"] = record.Timestamp,
                ["model"] = record.RequestedModel,
                ["provider"] = record.Provider,
                ["upstream_model"] = record.UpstreamModel,
                ["streamed"] = record.Streamed,
                ["status"] = record.StatusCode,
                ["error_type"] = record.ErrorType,
                ["input_tokens"] = record.InputTokens,
                ["output_tokens"] = record.OutputTokens,
                ["cached_input_tokens"] = record.CachedInputTokens,
                ["cache_write_tokens"] = record.CacheWriteTokens,
                ["reasoning_tokens"] = record.ReasoningTokens,
                ["cost"] = record.Cost,
                ["time_to_first_byte_ms"] = record.TimeToFirstByte?.TotalMilliseconds,
                ["duration_ms"] = record.Duration.TotalMilliseconds,
            });
        }

        return new JsonObject
        {
            ["key"] = keyName,
            ["currency"] = "USD",
            ["from"] = filter.FromDay!.Value.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["to"] = today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["balance"] = await BalanceAsync(keyName, cancellationToken),
            ["by_day"] = byDay,
            ["by_model"] = byModel,
            ["daily"] = daily,
            ["recent"] = requests,
        };
    }

    private async Task<JsonObject?> BalanceAsync(string keyName, CancellationToken cancellationToken)
    {
        if (_ledger is null || await _ledger.GetBalanceAsync(keyName, cancellationToken) is not { } balance)
        {
            return null;
        }

        return new JsonObject
        {
            ["balance"] = balance.Balance,
            ["reserved"] = balance.Reserved,
            ["available"] = balance.Available,
            ["free_credit"] = balance.FreeCredit,
            ["closed"] = balance.Closed,
        };
    }

    private static JsonObject Totals(IReadOnlyList<UsageDailyTotal> totals, JsonObject into)
    {
        into["requests"] = totals.Sum(t => t.Requests);
        into["errors"] = totals.Sum(t => t.Errors);
        into["input_tokens"] = totals.Sum(t => t.InputTokens);
        into["output_tokens"] = totals.Sum(t => t.OutputTokens);
        into["cached_input_tokens"] = totals.Sum(t => t.CachedInputTokens);
        into["cache_write_tokens"] = totals.Sum(t => t.CacheWriteTokens);
        into["reasoning_tokens"] = totals.Sum(t => t.ReasoningTokens);
        into["cost"] = totals.Sum(t => t.Cost);
        return into;
    }
}
