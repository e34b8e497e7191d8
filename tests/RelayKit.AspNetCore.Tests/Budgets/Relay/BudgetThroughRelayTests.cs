using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>Reserve, forward, settle through the relay with the fake upstream behind it.</summary>
public sealed class BudgetThroughRelayTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":200,"messages":[{"role":"user","content":"Tell me about budgets."}]}""";

    [Fact]
    public async Task Non_streamed_chat_is_charged_exactly_the_usage_the_upstream_reported()
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var response = await http.SendAsync(request);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var usage = json.GetProperty("usage");
        var expected = BudgetRelay.Cost(usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64());
        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.Equal(expected, reservation.Charged);
        Assert.Equal(decimal.Parse(response.Headers.GetValues("x-relaykit-cost-reserved").Single(), CultureInfo.InvariantCulture), reservation.Amount);
        Assert.True(reservation.Amount >= expected);

        var balance = await relay.Ledger().GetBalanceAsync("alice");
        Assert.Equal(1m - expected, balance!.Balance);
        Assert.Equal(0m, balance.Reserved);
    }

    [Fact]
    public async Task Streamed_chat_gets_usage_upstream_and_the_caller_does_not_see_the_usage_chunk()
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody.Replace("\"max_tokens\":200,", "\"max_tokens\":200,\"stream\":true,", StringComparison.Ordinal));
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(relay.Fake.Requests.Single().IncludeUsage);
        Assert.Contains("data: [DONE]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"prompt_tokens\"", text, StringComparison.Ordinal);

        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.True(reservation.Charged > 0m);
    }

    [Fact]
    public async Task Caller_that_asked_for_stream_usage_still_gets_it_and_is_charged_that_usage()
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions",
            ChatBody.Replace("\"max_tokens\":200,", "\"max_tokens\":200,\"stream\":true,\"stream_options\":{\"include_usage\":true},", StringComparison.Ordinal));
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var usageChunk = text.Split('\n').Single(l => l.Contains("\"prompt_tokens\"", StringComparison.Ordinal));
        var usage = JsonDocument.Parse(usageChunk["data: ".Length..]).RootElement.GetProperty("usage");

        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(BudgetRelay.Cost(usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64()), reservation.Charged);
    }

    [Fact]
    public async Task Anthropic_stream_is_charged_message_start_input_plus_message_delta_output()
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/messages",
            """{"model":"claude-code-opus-4.8","max_tokens":300,"stream":true,"messages":[{"role":"user","content":"Hello there"}]}""", anthropic: true);
        using var response = await http.SendAsync(request);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l[6..]).RootElement).ToList();
        var input = lines.Single(e => e.GetProperty("type").GetString() == "message_start").GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt64();
        var output = lines.Single(e => e.GetProperty("type").GetString() == "message_delta").GetProperty("usage").GetProperty("output_tokens").GetInt64();

        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(BudgetRelay.Cost(input, output), reservation.Charged);
    }

    [Fact]
    public async Task Request_without_output_limit_gets_the_assumed_limit_forwarded()
    {
        await using var relay = BudgetRelay.Create(1m, s => s["ModelRelay:Models:gpt-5.5:MaxOutputTokens"] = "1234");
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1234, relay.Fake.Requests.Single().MaxOutputTokens);
    }

    [Fact]
    public async Task Upstream_error_before_output_is_released_and_charged_nothing()
    {
        await using var relay = BudgetRelay.Create(1m);
        relay.Fake.Setup().WithFault(FakeFault.ServerError(503));
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);

        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(ReservationState.Released, reservation.State);
        Assert.Equal(1m, (await relay.Ledger().GetBalanceAsync("alice"))!.Balance);
    }

    [Theory]
    [InlineData("cut")]
    [InlineData("error")]
    public async Task Stream_broken_after_output_is_charged_prompt_plus_delivered_output_at_most_the_reservation(string fault)
    {
        await using var relay = BudgetRelay.Create(1m);
        relay.Fake.Setup().RespondWithText(string.Join(' ', Enumerable.Range(0, 60).Select(i => "word" + i)))
            .WithFault(fault == "cut" ? FakeFault.CutStreamAfter(5) : FakeFault.StreamError(5));
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody.Replace("\"max_tokens\":200,", "\"max_tokens\":200,\"stream\":true,", StringComparison.Ordinal));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        try
        {
            await response.Content.ReadAsStringAsync();
        }
        catch (HttpRequestException)
        {
            // The relay cuts the caller's connection when the upstream broke off: expected for "cut".
        }

        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.True(reservation.Charged > 0m, "output was delivered, so it is charged");
        Assert.True(reservation.Charged < reservation.Amount, "only part of the output was delivered");
    }

    [Fact]
    public async Task A_cut_Anthropic_stream_is_charged_the_prompt_the_upstream_reported_not_the_estimate()
    {
        await using var relay = BudgetRelay.Create(1m);
        relay.Fake.Setup().RespondWithText(string.Join(' ', Enumerable.Range(0, 60).Select(i => "word" + i))).WithFault(FakeFault.CutStreamAfter(5));
        var http = relay.App.CreateClient();
        const string body = """{"model":"claude-code-opus-4.8","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"Tell me about budgets, at some length, with examples."}]}""";
        using var request = BudgetRelay.Post("/v1/messages", body, anthropic: true);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var text = new StringBuilder();
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                text.AppendLine(line);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // The relay cuts the caller's connection when the upstream broke off.
        }

        var start = text.ToString().Split('\n').First(l => l.StartsWith("data: ", StringComparison.Ordinal) && l.Contains("message_start", StringComparison.Ordinal));
        var reportedInput = JsonDocument.Parse(start["data: ".Length..]).RootElement.GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt64();
        var estimatedInput = JsonDocument.Parse(await (await http.SendAsync(BudgetRelay.Post("/v1/relay/estimate?endpoint=messages", body))).Content.ReadAsStringAsync())
            .RootElement.GetProperty("prompt_tokens").GetInt64();
        Assert.NotEqual(estimatedInput, reportedInput);

        // The reported prompt at $1 and each delivered output token at $10 per million: what is left is whole output tokens.
        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        var outputMillionths = (reservation.Charged!.Value * 1_000_000m) - reportedInput;
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.Equal(0m, outputMillionths % BudgetRelay.OutputPrice);
        Assert.InRange(outputMillionths / BudgetRelay.OutputPrice, 1m, 59m);
    }

    [Fact]
    public async Task An_upstream_silent_mid_stream_for_the_upstream_timeout_is_cut_settled_and_its_slot_freed()
    {
        await using var relay = BudgetRelay.Create(1m, s =>
        {
            s["ModelRelay:UpstreamTimeout"] = "00:00:01";
            s["ModelRelay:Keys:0:MaxConcurrentRequests"] = "1";
        });
        var gate = new FakeStreamGate();
        relay.Fake.Setup().RespondWithText(string.Join(' ', Enumerable.Range(0, 80).Select(i => "token" + i))).HoldAfterEvents(4, gate);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody.Replace("\"max_tokens\":200,", "\"max_tokens\":200,\"stream\":true,", StringComparison.Ordinal));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var requestId = response.Headers.GetValues("x-request-id").Single();

        // The fake sends four events and then nothing, for good: the relay cuts the caller's stream after a second.
        var received = new StringBuilder();
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            received.Append(await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // The cut reaches the caller as a broken connection: the answer is incomplete, and must not look whole.
        }

        Assert.DoesNotContain("[DONE]", received.ToString(), StringComparison.Ordinal);
        var reservation = await relay.SettledAsync(requestId);
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.True(reservation.Charged > 0m && reservation.Charged < reservation.Amount, $"charged {reservation.Charged} of {reservation.Amount}");
        Assert.Contains(relay.App.Logs.GetSnapshot(), r => r.Message.Contains("sent nothing for 00:00:01", StringComparison.Ordinal));

        // The key's one concurrency slot is free again.
        gate.Release();
        relay.Fake.Setup().RespondWithText("next");
        var (next, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, next);
    }

    [Fact]
    public async Task Client_aborting_a_stream_mid_way_is_charged_what_was_delivered()
    {
        await using var relay = BudgetRelay.Create(1m);
        var gate = new FakeStreamGate();
        relay.Fake.Setup().RespondWithText(string.Join(' ', Enumerable.Range(0, 80).Select(i => "token" + i))).HoldAfterEvents(4, gate);
        var http = relay.App.CreateClient();
        using var cancel = new CancellationTokenSource();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody.Replace("\"max_tokens\":200,", "\"max_tokens\":200,\"stream\":true,", StringComparison.Ordinal));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        var requestId = response.Headers.GetValues("x-request-id").Single();
        await gate.Reached;

        // The fake has sent its first events; wait until the caller has some of the answer (so the relay has read
        // and passed on output) before it goes away. Cancelling at the gate alone raced the relay's read.
        var body = await response.Content.ReadAsStreamAsync(cancel.Token);
        var received = new StringBuilder();
        var chunk = new byte[4096];
        while (!received.ToString().Contains("token", StringComparison.Ordinal))
        {
            var read = await body.ReadAsync(chunk, cancel.Token);
            Assert.True(read > 0, "the stream ended before any output arrived");
            received.Append(Encoding.UTF8.GetString(chunk, 0, read));
        }

        cancel.Cancel();
        response.Dispose();

        var reservation = await relay.SettledAsync(requestId);
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.True(reservation.Charged > 0m);
        Assert.True(reservation.Charged < reservation.Amount);
        var (credited, charged, held) = await relay.SumsAsync();
        Assert.Equal(1m, credited);
        Assert.Equal(reservation.Charged, charged);
        Assert.Equal(0m, held);
    }

    [Theory]
    [InlineData("\"max_tokens\":1e20", "max_tokens")]
    [InlineData("\"max_tokens\":200,\"max_completion_tokens\":1e400", "max_completion_tokens")]
    [InlineData("\"max_tokens\":200,\"n\":1e20", "n")]
    [InlineData("\"max_tokens\":200,\"n\":4611686018427387904", "n")]
    public async Task An_output_limit_past_any_number_of_tokens_is_a_400_naming_the_field_before_any_money_moves(string limit, string param)
    {
        await using var relay = BudgetRelay.Create(1_000_000m);
        var http = relay.App.CreateClient();

        var (status, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody.Replace("\"max_tokens\":200", limit, StringComparison.Ordinal), bearer: RelaySettings.AliceKey);

        Assert.Equal(400, status);
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
        Assert.Empty(relay.Fake.Requests);
        var (_, charged, held) = await relay.SumsAsync();
        Assert.Equal((0m, 0m), (charged, held));
    }

    [Fact]
    public async Task A_prompt_of_one_two_million_char_word_is_estimated_relayed_and_charged_without_stalling()
    {
        // Counted whole, one such word kept the tokenizer busy for the better part of an hour (quadratic in its length).
        var word = new string('x', 2_000_000);
        var body = ChatBody.Replace("Tell me about budgets.", word, StringComparison.Ordinal);
        await using var relay = BudgetRelay.Create(10m);
        var http = relay.App.CreateClient();

        var estimate = await BudgetRelay.EstimateAsync(http, "chat/completions", body);
        using var request = BudgetRelay.Post("/v1/chat/completions", body);
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(estimate.ToString(CultureInfo.InvariantCulture), response.Headers.GetValues("x-relaykit-cost-reserved").Single());
        var promptTokens = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt64();
        Assert.InRange(promptTokens, 2_000_000 / 8, 2_000_000 / 7);
        var reservation = await relay.SettledAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(ReservationState.Settled, reservation.State);
        Assert.True(reservation.Charged > BudgetRelay.Cost(promptTokens, 0), $"charged {reservation.Charged} for a prompt of {promptTokens} tokens and an answer");
    }

    [Fact]
    public async Task A_key_configured_with_a_zero_budget_is_metered_and_refused_until_topped_up()
    {
        await using var relay = BudgetRelay.Create(0m);
        var http = relay.App.CreateClient();

        var (status, body, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(429, status);
        Assert.Equal("insufficient_quota", body.GetProperty("error").GetProperty("code").GetString());

        await relay.Ledger().TopUpAsync("alice", 1m, "pay_after_zero");
        var (paid, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, paid);
        Assert.Single(relay.Fake.Requests);
    }

    [Fact]
    public async Task Refusal_is_openai_insufficient_quota_without_retry_and_never_reaches_the_upstream()
    {
        await using var relay = BudgetRelay.Create(0.0001m);
        var http = relay.App.CreateClient();
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(429, status);
        Assert.Equal("insufficient_quota", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("insufficient_quota", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("false", headers.GetValues("x-should-retry").Single());

        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 200 }));
        Assert.Equal(429, ex.Status);
        Assert.Contains("balance", ex.Message, StringComparison.Ordinal);
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task Refusal_is_anthropic_billing_error_without_retry()
    {
        await using var relay = BudgetRelay.Create(0.0001m);
        var http = relay.App.CreateClient();
        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/messages",
            """{"model":"claude-code-opus-4.8","max_tokens":300,"messages":[{"role":"user","content":"Hello"}]}""", apiKey: RelaySettings.AliceKey, anthropicVersion: "2023-06-01");
        Assert.Equal(402, status);
        Assert.Equal("billing_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("false", headers.GetValues("x-should-retry").Single());

        var anthropic = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        var ex = await Assert.ThrowsAsync<Anthropic.Exceptions.AnthropicPaymentRequiredException>(() => anthropic.Messages.Create(new Anthropic.Models.Messages.MessageCreateParams
        {
            Model = "claude-code-opus-4.8",
            MaxTokens = 300,
            Messages = [new Anthropic.Models.Messages.UserMessageParam("Hello")],
        }));
        Assert.Contains("balance", ex.Message, StringComparison.Ordinal);
        Assert.Empty(relay.Fake.Requests);
    }

    [Fact]
    public async Task Unpriced_model_is_refused_for_a_key_with_a_budget_and_served_for_an_unmetered_key()
    {
        await using var relay = BudgetRelay.Create(1m, s => s["ModelRelay:Keys:1:Models:1"] = "o*-mini");
        var http = relay.App.CreateClient();
        const string body = """{"model":"o9-mini","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""";
        var (status, json, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", body, bearer: RelaySettings.AliceKey);
        Assert.Equal(400, status);
        Assert.Equal("model_not_priced", json.GetProperty("error").GetProperty("code").GetString());

        var (bobStatus, _, bobHeaders) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", body, bearer: RelaySettings.BobKey);
        Assert.Equal(200, bobStatus);
        Assert.False(bobHeaders.Contains("x-relaykit-cost-reserved"));
    }

    [Fact]
    public async Task Caller_reads_its_own_balance_and_request_cost_but_not_another_keys()
    {
        await using var relay = BudgetRelay.Create(2m);
        var http = relay.App.CreateClient();
        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var response = await http.SendAsync(request);
        var requestId = response.Headers.GetValues("x-request-id").Single();
        var reservation = await relay.SettledAsync(requestId);

        var (status, cost, _) = await RawRelayCall.GetAsync(http, $"/v1/relay/requests/{requestId}/cost", bearer: RelaySettings.AliceKey);
        Assert.Equal(200, status);
        Assert.Equal(reservation.Charged, cost.GetProperty("charged").GetDecimal());
        var (bobStatus, _, _) = await RawRelayCall.GetAsync(http, $"/v1/relay/requests/{requestId}/cost", bearer: RelaySettings.BobKey);
        Assert.Equal(404, bobStatus);

        var (_, balance, _) = await RawRelayCall.GetAsync(http, "/v1/relay/balance", bearer: RelaySettings.AliceKey);
        Assert.Equal(2m - reservation.Charged!.Value, balance.GetProperty("balance").GetDecimal());
        var (_, bobBalance, _) = await RawRelayCall.GetAsync(http, "/v1/relay/balance", bearer: RelaySettings.BobKey);
        Assert.False(bobBalance.GetProperty("metered").GetBoolean());
    }

    [Fact]
    public async Task Dry_run_returns_the_reservation_without_calling_the_upstream()
    {
        await using var relay = BudgetRelay.Create(1m);
        var http = relay.App.CreateClient();
        var estimate = await BudgetRelay.EstimateAsync(http, "chat/completions", ChatBody);
        Assert.Empty(relay.Fake.Requests);
        Assert.True(estimate >= BudgetRelay.Cost(0, 200));

        using var request = BudgetRelay.Post("/v1/chat/completions", ChatBody);
        using var response = await http.SendAsync(request);
        Assert.Equal(estimate, decimal.Parse(response.Headers.GetValues("x-relaykit-cost-reserved").Single(), CultureInfo.InvariantCulture));
    }
}
