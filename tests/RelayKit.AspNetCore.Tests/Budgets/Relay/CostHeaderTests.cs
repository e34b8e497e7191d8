using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// The cost headers: every admitted answer of a metered key carries the reservation; a non-streamed one also
/// carries what it was charged and the balance left, read here through the official SDKs' raw responses.
/// </summary>
public sealed class CostHeaderTests
{
    private const string Reserved = "x-relaykit-cost-reserved";
    private const string Charged = "x-relaykit-cost-charged";
    private const string Balance = "x-relaykit-balance-remaining";
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":200,"messages":[{"role":"user","content":"Tell me about budgets."}]}""";

    [Fact]
    public Task OpenAI_SDK_sees_the_charge_of_the_reported_usage_and_the_balance_going_down() => ChargeAndBalanceAsync(_ => { }, leases: false);

    /// <summary>The same on the SQLite ledger, where requests are held out of a reservation lease by default.</summary>
    [Fact]
    public Task OpenAI_SDK_sees_the_charge_and_the_balance_on_the_SQLite_ledger_with_leases() => SqliteLedgerFile.RunAsync(storage => ChargeAndBalanceAsync(storage, leases: true));

    private static async Task ChargeAndBalanceAsync(Action<Dictionary<string, string?>> storage, bool leases)
    {
        const decimal budget = 1m;
        await using var relay = BudgetRelay.Create(budget, storage);
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 200 };

        var first = await chat.CompleteChatAsync([new UserChatMessage("Tell me about budgets.")], options);
        var firstCost = BudgetRelay.Cost(first.Value.Usage.InputTokenCount, first.Value.Usage.OutputTokenCount);
        var firstHeaders = first.GetRawResponse().Headers;
        Assert.True(firstCost > 0m);
        Assert.Equal(firstCost, Money(firstHeaders, Charged));
        Assert.Equal(budget - firstCost, Money(firstHeaders, Balance));
        Assert.True(Money(firstHeaders, Reserved) >= firstCost);

        var second = await chat.CompleteChatAsync([new UserChatMessage("And about ledgers, at length.")], options);
        var secondCost = BudgetRelay.Cost(second.Value.Usage.InputTokenCount, second.Value.Usage.OutputTokenCount);
        var secondHeaders = second.GetRawResponse().Headers;
        Assert.Equal(secondCost, Money(secondHeaders, Charged));
        Assert.Equal(budget - firstCost - secondCost, Money(secondHeaders, Balance));
        Assert.True(Money(secondHeaders, Balance) < Money(firstHeaders, Balance));

        // The headers tell what the ledger holds, nothing is held for a request any more, and each request was charged once.
        var ledger = await relay.Ledger().GetBalanceAsync("alice");
        Assert.Equal(Money(secondHeaders, Balance), ledger!.Balance);
        Assert.Equal(0m, ledger.Reserved);
        var (credited, charged, held) = await relay.SumsAsync();
        Assert.Equal(budget, credited);
        Assert.Equal(firstCost + secondCost, charged);

        var entries = await relay.Ledger().GetEntriesAsync("alice");
        Assert.Equal(leases, entries.Any(e => e.Kind == BudgetEntryKind.Reservation && e.RequestId!.StartsWith("lease_", StringComparison.Ordinal)));

        // A lease's unused rest goes back once the key is idle for a second.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (held != 0m && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            (_, _, held) = await relay.SumsAsync();
        }

        Assert.Equal(0m, held);
    }

    [Fact]
    public async Task Anthropic_SDK_sees_the_charge_and_the_balance()
    {
        const decimal budget = 2m;
        await using var relay = BudgetRelay.Create(budget);
        var anthropic = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        using var raw = await anthropic.WithRawResponse.Messages.Create(new Anthropic.Models.Messages.MessageCreateParams
        {
            Model = "claude-code-opus-4.8",
            MaxTokens = 300,
            Messages = [new Anthropic.Models.Messages.UserMessageParam("Hello there")],
        });
        var message = await raw.Deserialize();
        var usage = message.Usage;
        var cost = BudgetRelay.Cost(usage.InputTokens + (usage.CacheReadInputTokens ?? 0) + (usage.CacheCreationInputTokens ?? 0), usage.OutputTokens);

        Assert.True(cost > 0m);
        Assert.Equal(cost, Money(raw.Headers, Charged));
        Assert.Equal(budget - cost, Money(raw.Headers, Balance));
    }

    [Fact]
    public async Task Translated_non_streamed_answer_carries_the_charge_of_the_upstreams_usage()
    {
        const decimal budget = 1m;
        await using var relay = BudgetRelay.Create(budget);
        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("claude-code-opus-4.8");
        var result = await chat.CompleteChatAsync([new UserChatMessage("Hello there")], new ChatCompletionOptions { MaxOutputTokenCount = 300 });

        Assert.Equal("/v1/messages", relay.Fake.Requests.Single().Path);
        var upstream = JsonDocument.Parse(relay.Recorder.Exchanges.Single().JsonBody!).RootElement.GetProperty("usage");
        var cost = BudgetRelay.Cost(upstream.GetProperty("input_tokens").GetInt64(), upstream.GetProperty("output_tokens").GetInt64());
        var headers = result.GetRawResponse().Headers;
        Assert.Equal(cost, Money(headers, Charged));
        Assert.Equal(budget - cost, Money(headers, Balance));
        Assert.Equal(cost, BudgetRelay.Cost(result.Value.Usage.InputTokenCount, result.Value.Usage.OutputTokenCount));
        Assert.False(string.IsNullOrEmpty(result.Value.Content[0].Text));

        var reservation = await relay.SettledAsync(headers.TryGetValue("x-request-id", out var id) ? id! : "");
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.Equal(cost, reservation.Charged);
    }

    [Fact]
    public async Task Held_answer_goes_out_byte_for_byte_with_its_length()
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains(Charged));
        Assert.Equal(relay.Recorder.Exchanges.Single().JsonBody, body);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Streamed_answer_carries_only_the_reservation_and_still_streams()
    {
        await using var relay = BudgetRelay.Create(1m);
        var gate = new FakeStreamGate();
        relay.Fake.Setup().RespondWithText(string.Join(' ', Enumerable.Range(0, 40).Select(i => "word" + i))).HoldAfterEvents(3, gate);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody.Replace("\"max_tokens\":200,", "\"max_tokens\":200,\"stream\":true,", StringComparison.Ordinal));

        // The headers and the first events reach the caller while the upstream is still holding the rest.
        // (Held for its charge, the answer would never start while the upstream waits: the bound turns that into a failure.)
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(10));
        await gate.Reached;
        Assert.True(response.Headers.Contains(Reserved));
        Assert.False(response.Headers.Contains(Charged));
        Assert.False(response.Headers.Contains(Balance));
        await using var stream = await response.Content.ReadAsStreamAsync();
        var firstBytes = new byte[1];
        Assert.Equal(1, await stream.ReadAsync(firstBytes));

        gate.Release();
        using var reader = new StreamReader(stream);
        var rest = await reader.ReadToEndAsync();
        Assert.Contains("data: [DONE]", rest, StringComparison.Ordinal);
        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.True(reservation.Charged > 0m);
    }

    [Fact]
    public async Task Answer_announced_larger_than_the_cap_streams_through_without_the_charge_and_is_charged_after()
    {
        await using var relay = BudgetRelay.Create(1m);
        relay.App.Services.GetRequiredService<UpstreamForwarder>().HeldBodyCap = 64;
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains(Reserved));
        Assert.False(response.Headers.Contains(Charged));
        Assert.False(response.Headers.Contains(Balance));
        var upstream = relay.Recorder.Exchanges.Single().JsonBody!;
        Assert.True(upstream.Length > 64);
        Assert.Equal(upstream, body);

        var usage = JsonDocument.Parse(body).RootElement.GetProperty("usage");
        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(BudgetRelay.Cost(usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64()), reservation.Charged);
    }

    [Fact]
    public async Task Answer_of_unknown_length_that_outgrows_the_cap_goes_out_whole_without_the_charge()
    {
        // Over real sockets the fake writes its JSON without a Content-Length, so the cap is found while reading.
        await using var relay = await FakeRelay.CreateOverSocketsAsync(BudgetRelay.Settings(1m));
        relay.App.Services.GetRequiredService<UpstreamForwarder>().HeldBodyCap = 64;
        var result = await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5")
            .CompleteChatAsync([new UserChatMessage("Tell me about budgets, at length.")], new ChatCompletionOptions { MaxOutputTokenCount = 200 });
        var headers = result.GetRawResponse().Headers;

        Assert.False(string.IsNullOrEmpty(result.Value.Content[0].Text));
        Assert.True(result.GetRawResponse().Content.ToMemory().Length > 64);
        Assert.True(headers.TryGetValue(Reserved, out _));
        Assert.False(headers.TryGetValue(Charged, out _));
        Assert.False(headers.TryGetValue(Balance, out _));

        var reservation = await relay.SettledAsync(headers.TryGetValue("x-request-id", out var id) ? id! : "");
        Assert.Equal(BudgetRelay.Cost(result.Value.Usage.InputTokenCount, result.Value.Usage.OutputTokenCount), reservation.Charged);
    }

    [Fact]
    public async Task Key_without_a_budget_gets_none_of_the_cost_headers()
    {
        await using var relay = BudgetRelay.Create(1m);
        var result = await relay.App.CreateOpenAiClient(RelaySettings.BobKey).GetChatClient("gpt-5.5")
            .CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 50 });
        var headers = result.GetRawResponse().Headers;

        Assert.True(headers.TryGetValue("x-request-id", out _));
        Assert.False(headers.TryGetValue(Reserved, out _));
        Assert.False(headers.TryGetValue(Charged, out _));
        Assert.False(headers.TryGetValue(Balance, out _));
    }

    [Fact]
    public async Task Upstream_error_is_charged_nothing_and_says_so()
    {
        const decimal budget = 1m;
        await using var relay = BudgetRelay.Create(budget);
        relay.Fake.Setup().WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(0m, Money(response.Headers, Charged));
        Assert.Equal(budget, Money(response.Headers, Balance));
        Assert.Equal(relay.Recorder.Exchanges.Single().ErrorBody, await response.Content.ReadAsByteArrayAsync());
    }

    private static decimal Money(System.ClientModel.Primitives.PipelineResponseHeaders headers, string name)
    {
        Assert.True(headers.TryGetValue(name, out var value), name + " is missing");
        return decimal.Parse(value!, NumberStyles.Number, CultureInfo.InvariantCulture);
    }

    private static decimal Money(System.Net.Http.Headers.HttpHeaders headers, string name)
    {
        Assert.True(headers.TryGetValues(name, out var values), name + " is missing");
        return decimal.Parse(values.Single(), NumberStyles.Number, CultureInfo.InvariantCulture);
    }

    private static decimal Money(IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers, string name)
    {
        var values = headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).SelectMany(h => h.Value).ToList();
        Assert.True(values.Count == 1, name + " is missing");
        return decimal.Parse(values[0], NumberStyles.Number, CultureInfo.InvariantCulture);
    }
}
