using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Admission;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>The places where admission and settlement plug into the request path.</summary>
public sealed class RequestPathSeamTests
{
    private const string ChatBody = """{"model":"default","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task An_admission_sees_the_routed_request_and_its_refusal_is_answered_before_anything_goes_upstream()
    {
        var admission = new RecordingAdmission(new RelayError(429, RelayErrorKind.InvalidRequest, "rate_limited", "Slow down."));
        var settlement = new RecordingSettlement();
        await using var relay = FakeRelay.Create(services: s => s.AddSingleton<IRelayAdmission>(admission).AddSingleton<IRelaySettlement>(settlement));
        using var http = relay.App.CreateClient();

        var answer = await RawRelayCall.PostAsync(http, "v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.Equal(429, answer.Status);
        Assert.Equal("rate_limited", answer.Body.GetProperty("error").GetProperty("code").GetString());
        var seen = Assert.Single(admission.Seen);
        Assert.Equal(("alice", "default", "gpt-5.5"), seen);
        Assert.Empty(relay.Fake.Requests);

        // Settled once, with nothing forwarded and the refusal as its outcome.
        var outcome = Assert.Single(settlement.Outcomes);
        Assert.Null(outcome.Item1);
        Assert.Equal("rate_limited", outcome.Item4?.Code);
    }

    [Fact]
    public async Task Settlement_runs_once_per_admitted_request_with_its_outcome()
    {
        var settlement = new RecordingSettlement();
        await using var relay = FakeRelay.Create(services: s => s.AddSingleton<IRelayAdmission>(new RecordingAdmission(null)).AddSingleton<IRelaySettlement>(settlement));
        using var http = relay.App.CreateClient();

        await RawRelayCall.PostAsync(http, "v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        await RawRelayCall.PostAsync(http, "v1/chat/completions", ChatBody, bearer: "rk-wrong");

        var outcome = Assert.Single(settlement.Outcomes);
        Assert.Equal(("openai", 200, true, null), outcome);
    }

    [Fact]
    public async Task A_failure_inside_the_relay_is_a_500_in_the_callers_format_without_details()
    {
        await using var relay = FakeRelay.Create(services: s => s.AddSingleton<IRelayAdmission>(new ThrowingAdmission()));
        using var http = relay.App.CreateClient();

        var answer = await RawRelayCall.PostAsync(http, "v1/messages", """{"model":"claude-code-opus-4.8","max_tokens":5,"messages":[]}""", apiKey: RelaySettings.AliceKey);

        Assert.Equal(500, answer.Status);
        Assert.Equal("api_error", answer.Body.GetProperty("error").GetProperty("type").GetString());
        var message = answer.Body.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains(answer.Headers.GetValues("x-request-id").Single(), message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret detail", message, StringComparison.Ordinal);
        Assert.Contains(relay.App.Logs.GetSnapshot(), r => r.Exception?.Message == "secret detail");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_answer_ends_only_after_its_settle_has_ended(bool stream)
    {
        // The durability rule: an answer its caller has whole is charged and recorded, so a crash between the two cannot
        // lose the charge of an answer delivered.
        var settlement = new HeldSettlement();
        await using var relay = FakeRelay.Create(services: s => s.AddSingleton<IRelaySettlement>(settlement));

        // Over Kestrel: TestServer ends a response body only when the whole request pipeline returns.
        relay.App.UseKestrel(0);
        relay.App.StartServer();
        using var http = relay.App.CreateClient();
        var body = stream
            ? """{"model":"default","stream":true,"messages":[{"role":"user","content":"hi"}]}"""
            : ChatBody;

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", RelaySettings.AliceKey);
        var whole = ReadWholeAsync(http, request);
        try
        {
            await settlement.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

            // Settling holds the end of the answer: the body has not ended while the settle waits.
            var first = await Task.WhenAny(whole, Task.Delay(TimeSpan.FromMilliseconds(500)));
            Assert.NotSame(whole, first);
            Assert.False(settlement.Finished);
        }
        finally
        {
            settlement.Release.TrySetResult();
        }

        var text = await whole.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(settlement.Finished);
        Assert.Contains(stream ? "data: [DONE]" : "\"choices\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_settle_step_that_throws_does_not_keep_the_later_ones_from_freeing_the_slot_and_recording()
    {
        // Registered first, so it runs before the rate limit's and the usage record's parts of step 7.
        await using var relay = FakeRelay.Create(
            s => s["ModelRelay:Keys:0:MaxConcurrentRequests"] = "1",
            services: s => s.Insert(0, ServiceDescriptor.Singleton<IRelaySettlement>(new ThrowingSettlement())));
        using var http = relay.App.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            // A settle that fails is a relay bug: the answer is not completed (the durability rule), but each request is
            // admitted; had the first kept its concurrency slot, the next would be refused with 429.
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent(ChatBody, System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new("Bearer", RelaySettings.AliceKey);
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(200, (int)response.StatusCode);
                await response.Content.ReadAsStringAsync();
            }
            catch (HttpRequestException ex) when (ex.InnerException?.InnerException?.Message == "settle step failed")
            {
                // TestServer hands the unhandled settle failure to the client as a broken body.
            }
        }

        // The usage record, the step after the failing one, is written for every request.
        Assert.Equal(3, (await Usage.UsageRelay.WaitForRecordsAsync(relay, 3)).Count);
    }

    [Fact]
    public async Task A_whole_answer_charged_in_step_7_is_delivered_with_its_charge_even_when_another_settle_step_throws()
    {
        // Registered first: it throws before the budget's part of step 7 runs, which still charges the answer.
        await using var relay = FakeRelay.Create(
            BudgetRelay.Settings(1m),
            services: s => s.Insert(0, ServiceDescriptor.Singleton<IRelaySettlement>(new ThrowingSettlement())));
        relay.Fake.Setup().ForModel("gpt-5.5").RespondWithText("Charged and delivered.");
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions",
            """{"model":"gpt-5.5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);

        // The caller paid for this answer: it gets it, with what it was charged, not a relay error.
        Assert.True(status == 200, body.ToString());
        Assert.Equal("Charged and delivered.", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        var charged = decimal.Parse(headers.GetValues("x-relaykit-cost-charged").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(charged > 0m);
        var (_, ledgerCharged, held) = await relay.SumsAsync();
        Assert.Equal((charged, 0m), (ledgerCharged, held));
        Assert.Contains(relay.App.Logs.GetSnapshot(), r => r.Exception?.Message == "settle step failed");
    }

    private sealed class ThrowingSettlement : IRelaySettlement
    {
        public ValueTask SettleAsync(RelayRequestContext context) => throw new InvalidOperationException("settle step failed");
    }

    private static async Task<string> ReadWholeAsync(HttpClient http, HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return await response.Content.ReadAsStringAsync();
    }

    private sealed class HeldSettlement : IRelaySettlement
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Finished { get; private set; }

        public async ValueTask SettleAsync(RelayRequestContext context)
        {
            Entered.TrySetResult();
            await Release.Task;
            Finished = true;
            Done.TrySetResult();
        }
    }

    private sealed class RecordingAdmission(RelayError? answer) : IRelayAdmission
    {
        public List<(string Key, string Model, string Upstream)> Seen { get; } = [];

        public ValueTask<RelayError?> AdmitAsync(RelayRequestContext context)
        {
            Seen.Add((context.Caller!.KeyName, context.Fields!.Model, context.Candidates[0].UpstreamModel));
            return ValueTask.FromResult(answer);
        }
    }

    private sealed class ThrowingAdmission : IRelayAdmission
    {
        public ValueTask<RelayError?> AdmitAsync(RelayRequestContext context) => throw new InvalidOperationException("secret detail");
    }

    private sealed class RecordingSettlement : IRelaySettlement
    {
        public List<(string? Provider, int? Status, bool Completed, RelayError? Error)> Outcomes { get; } = [];

        public ValueTask SettleAsync(RelayRequestContext context)
        {
            Outcomes.Add((context.Upstream?.Provider.Name, context.UpstreamStatusCode, context.ResponseCompleted, context.Error));
            return ValueTask.CompletedTask;
        }
    }
}
