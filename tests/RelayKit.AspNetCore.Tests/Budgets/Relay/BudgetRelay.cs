using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// A relay over the fake upstream where alice has a budget and gpt-5.5 and the Claude alias have prices
/// ($1 input, $10 output per million tokens).
/// </summary>
internal static class BudgetRelay
{
    public const decimal InputPrice = 1m;
    public const decimal OutputPrice = 10m;

    public static FakeRelay Create(decimal budget, Action<Dictionary<string, string?>>? more = null) => FakeRelay.Create(Settings(budget, more));

    public static Action<Dictionary<string, string?>> Settings(decimal budget, Action<Dictionary<string, string?>>? more = null) => settings =>
    {
        settings["ModelRelay:Keys:0:Budget"] = budget.ToString(CultureInfo.InvariantCulture);
        foreach (var model in new[] { "gpt-5.5", "claude-code-opus-4.8" })
        {
            settings[$"ModelRelay:Models:{model}:Price:Input"] = InputPrice.ToString(CultureInfo.InvariantCulture);
            settings[$"ModelRelay:Models:{model}:Price:Output"] = OutputPrice.ToString(CultureInfo.InvariantCulture);
        }

        more?.Invoke(settings);
    };

    public static IBudgetLedger Ledger(this FakeRelay relay) => relay.App.Services.GetRequiredService<IBudgetLedger>();

    public static decimal Cost(long input, long output) => ((input * InputPrice) + (output * OutputPrice)) / 1_000_000m;

    public static HttpRequestMessage Post(string path, string body, string key = RelaySettings.AliceKey, bool anthropic = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (anthropic)
        {
            request.Headers.Add("x-api-key", key);
            request.Headers.Add("anthropic-version", "2023-06-01");
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }

    public static async Task<decimal> EstimateAsync(HttpClient http, string endpoint, string body)
    {
        using var request = Post("/v1/relay/estimate?endpoint=" + endpoint, body);
        using var response = await http.SendAsync(request);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.IsSuccessStatusCode, json.ToString());
        return json.GetProperty("worst_case_cost").GetDecimal();
    }

    /// <summary>Waits (bounded) until the request's settle has landed in the ledger.</summary>
    public static async Task<BudgetReservation> SettledAsync(this FakeRelay relay, string requestId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            // A request held out of a lease has no row of its own until its settle lands (a spooled settle lands after
            // the next start), so "not there yet" waits like "still open".
            var reservation = await relay.Ledger().GetReservationAsync(requestId);
            if (reservation is { State: not ReservationState.Open })
            {
                return reservation;
            }

            Assert.True(DateTime.UtcNow < deadline, $"request {requestId} was never settled");
            await Task.Delay(10);
        }
    }

    /// <summary>The ledger's own sums: what the entries say was credited, charged and is still held.</summary>
    public static async Task<(decimal Credited, decimal Charged, decimal Held)> SumsAsync(this FakeRelay relay, string key = "alice")
    {
        var entries = await relay.Ledger().GetEntriesAsync(key, 0, 100_000);
        var credited = entries.Where(e => e.Kind is BudgetEntryKind.TopUp or BudgetEntryKind.FreeCredit).Sum(e => e.Amount);
        var charged = entries.Where(e => e.Kind == BudgetEntryKind.Charge).Sum(e => e.Amount);
        var held = entries.Where(e => e.Kind == BudgetEntryKind.Reservation).Sum(e => e.Amount)
            - entries.Where(e => e.Kind is BudgetEntryKind.Release or BudgetEntryKind.Expiry).Sum(e => e.Amount);
        return (credited, charged, held);
    }
}
