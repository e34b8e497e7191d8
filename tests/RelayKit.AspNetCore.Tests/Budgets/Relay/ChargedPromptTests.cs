using System.Text.Json;
using Anthropic.Models.Messages;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// Once the upstream accepted a request it bills the prompt, output or not: a caller aborting after the first event,
/// or a stream the upstream cut before any text, is charged the prompt (as the upstream reported it, else as
/// estimated), on a SQLite ledger, and the usage record says the same amount.
/// </summary>
public sealed class ChargedPromptTests
{
    private static readonly string Prompt = "Tell me about budgets. " + string.Join(' ', Enumerable.Range(0, 400).Select(i => "context" + i));

    [Fact]
    public Task OpenAI_caller_aborting_after_the_first_event_is_charged_the_prompt() => SqliteLedgerFile.RunAsync(async storage =>
    {
        await using var relay = BudgetRelay.Create(1m, storage);
        var gate = new FakeStreamGate();
        relay.Fake.Setup().RespondWithText(string.Join(' ', Enumerable.Range(0, 80).Select(i => "token" + i))).HoldAfterEvents(1, gate);
        var promptTokens = await EstimatedPromptTokensAsync(relay, "chat/completions", ChatBody());

        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(Prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 200 }))
        {
            // The first event (the assistant's role, no text yet); leaving the loop disposes the response: an abort.
            Assert.Equal("", string.Concat(update.ContentUpdate.Select(p => p.Text)));
            break;
        }

        var reservation = await SettledAsync(relay);
        gate.Release();
        await AssertChargedAsync(relay, reservation, BudgetRelay.Cost(promptTokens, 0));
    });

    [Fact]
    public Task Anthropic_caller_aborting_after_message_start_is_charged_the_prompt_the_upstream_reported() => SqliteLedgerFile.RunAsync(async storage =>
    {
        await using var relay = BudgetRelay.Create(1m, storage);
        var gate = new FakeStreamGate();
        relay.Fake.Setup().RespondWithText(string.Join(' ', Enumerable.Range(0, 80).Select(i => "token" + i))).HoldAfterEvents(1, gate);

        long reportedInput = 0;
        var client = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        await foreach (var streamEvent in client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "claude-code-opus-4.8",
            MaxTokens = 200,
            Messages = [new UserMessageParam(Prompt)],
        }))
        {
            Assert.True(streamEvent.TryPickStart(out var start));
            reportedInput = start.Message.Usage.InputTokens;
            break;
        }

        Assert.True(reportedInput > 400, $"the fake reported {reportedInput} input tokens");
        var reservation = await SettledAsync(relay);
        gate.Release();
        await AssertChargedAsync(relay, reservation, BudgetRelay.Cost(reportedInput, 0));
    });

    [Fact]
    public Task A_stream_the_upstream_cut_before_any_text_is_charged_the_prompt() => SqliteLedgerFile.RunAsync(async storage =>
    {
        await using var relay = BudgetRelay.Create(1m, storage);
        relay.Fake.Setup().RespondWithText(string.Join(' ', Enumerable.Range(0, 80).Select(i => "token" + i))).WithFault(FakeFault.CutStreamAfter(1));
        var promptTokens = await EstimatedPromptTokensAsync(relay, "chat/completions", ChatBody());

        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        var text = "";
        try
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(Prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 200 }))
            {
                text += string.Concat(update.ContentUpdate.Select(p => p.Text));
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or System.ClientModel.ClientResultException)
        {
            // The relay cuts the caller's connection when the upstream broke off.
        }

        Assert.Equal("", text);
        var reservation = await SettledAsync(relay);
        await AssertChargedAsync(relay, reservation, BudgetRelay.Cost(promptTokens, 0));
    });

    private static string ChatBody() => JsonSerializer.Serialize(new
    {
        model = "gpt-5.5",
        max_completion_tokens = 200,
        stream = true,
        messages = new[] { new { role = "user", content = Prompt } },
    });

    [Fact]
    public Task A_caller_gone_before_the_status_line_of_a_request_the_upstream_has_is_charged_the_prompt() => SqliteLedgerFile.RunAsync(async storage =>
    {
        // A non-streamed answer's status line comes only when the whole answer is ready: a caller giving up before it
        // has still had the upstream read (and bill) the whole prompt.
        await using var relay = BudgetRelay.Create(1m, storage);
        relay.Fake.Setup().RespondWithText("An answer that is never waited for.").WithFault(new FakeFault { FirstByteDelay = TimeSpan.FromSeconds(30) });
        var promptTokens = await EstimatedPromptTokensAsync(relay, "chat/completions", ChatBody());

        using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => relay.App.CreateClient().SendAsync(request, giveUp.Token));

        var reservation = await SettledAsync(relay);
        Assert.Single(relay.Fake.Requests);
        await AssertChargedAsync(relay, reservation, BudgetRelay.Cost(promptTokens, 0));
    });

    private static async Task<long> EstimatedPromptTokensAsync(FakeRelay relay, string endpoint, string body)
    {
        using var request = BudgetRelay.Post("/v1/relay/estimate?endpoint=" + endpoint, body);
        using var response = await relay.App.CreateClient().SendAsync(request);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.IsSuccessStatusCode, json.ToString());
        return json.GetProperty("prompt_tokens").GetInt64();
    }

    /// <summary>
    /// The key's one request's reservation once settled (the SDK gives no request id for a stream it aborted); not the
    /// ledger's lease (lease_…), which holds a few requests' worth for this instance.
    /// </summary>
    private static async Task<BudgetReservation> SettledAsync(FakeRelay relay)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var entries = await relay.Ledger().GetEntriesAsync("alice");
            if (entries.FirstOrDefault(e => e.Kind == BudgetEntryKind.Reservation && e.RequestId?.StartsWith("req_", StringComparison.Ordinal) == true)
                is { RequestId: { } requestId })
            {
                return await relay.SettledAsync(requestId);
            }

            Assert.True(DateTime.UtcNow < deadline, "no reservation was made");
            await Task.Delay(10);
        }
    }

    private static async Task AssertChargedAsync(FakeRelay relay, BudgetReservation reservation, decimal expected)
    {
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.Equal(expected, reservation.Charged);
        Assert.True(expected > 0m && expected < reservation.Amount, $"{expected} of {reservation.Amount}");

        var (credited, charged, _) = await relay.SumsAsync();
        Assert.Equal(1m, credited);
        Assert.Equal(expected, charged);
        Assert.Equal(1m - expected, (await relay.Ledger().GetBalanceAsync("alice"))!.Balance);

        var store = relay.App.Services.GetRequiredService<IUsageStore>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var records = (await store.GetRecentAsync("alice", 100, CancellationToken.None)).Where(r => r.RequestId == reservation.RequestId).ToList();
            if (records.Count > 0)
            {
                Assert.Equal(expected, Assert.Single(records).Cost);
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "no usage record was written");
            await Task.Delay(10);
        }
    }
}
