using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Settlement;

/// <summary>
/// The settlement step on its own, over the relay's real ledger: what a whole answer's headers say, what the usage record
/// written with the charge says, and which requests the upstream bills although no answer came. gpt-5.5 costs $1/$10 per
/// million tokens; alice has $10.
/// </summary>
public sealed class BudgetSettlementTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero));
    private FakeRelay _relay = null!;
    private UpstreamCandidate _gpt = null!;

    public Task InitializeAsync()
    {
        _relay = FakeRelay.Create(
            BudgetRelay.Settings(10m, s =>
            {
                s["ModelRelay:Models:gpt-5.5:MaxOutputTokens"] = "1000";
                s["ModelRelay:Budgets:LeaseRequests"] = "0";
            }),
            services => services.AddSingleton<TimeProvider>(_time));
        _gpt = _relay.App.Services.GetRequiredService<ModelRouter>().Table.Resolve("gpt-5.5")[0];
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    private BudgetSettlement Settlement => _relay.App.Services.GetRequiredService<BudgetSettlement>();

    [Fact]
    public async Task A_whole_answer_settled_before_its_response_carries_its_charge_the_balance_and_a_record_of_a_complete_answer()
    {
        using var context = await AdmittedAsync();
        context.Upstream = _gpt;
        context.UpstreamStatusCode = 200;
        context.ReportedUsage = new TokenUsage(100, 0, 0, 500);

        // The forwarder has read the answer whole (complete from the upstream) and handed it over unwritten: step 7 runs
        // while its response has not started.
        context.ResponseCompleted = true;
        context.HeldAnswer = new CommunityToolkit.HighPerformance.Buffers.ArrayPoolBufferWriter<byte>();
        context.SettleStarted = true;
        await Settlement.SettleAsync(context);

        const decimal charge = (100 * 1m + 500 * 10m) / 1_000_000m;
        var headers = context.HttpContext.Response.Headers;
        Assert.Equal("0.0051", headers[BudgetSettlement.ChargedHeader].ToString());
        Assert.Equal("9.9949", headers[BudgetSettlement.BalanceHeader].ToString());
        Assert.Equal(charge, context.ChargedCost);
        Assert.Equal((ReservationState.Settled, (decimal?)charge), await StateAsync(context.RequestId));
        Assert.Equal(10m - charge, (await _relay.Ledger().GetBalanceAsync("alice"))!.Available);

        // The record written with the charge: the charge, and no error (a whole answer held counts as delivered).
        var record = context.SettledRecord!;
        Assert.Equal(charge, record.Cost);
        Assert.Null(record.ErrorType);

        // Step 7 finds it settled and charges nothing more.
        await Settlement.SettleAsync(context);
        Assert.Equal(10m - charge, (await _relay.Ledger().GetBalanceAsync("alice"))!.Balance);
    }

    [Fact]
    public async Task A_stream_the_caller_left_is_charged_its_prompt_and_delivered_output_and_recorded_as_aborted()
    {
        using var context = await AdmittedAsync();
        var hold = context.BudgetHold!;
        context.Upstream = _gpt;
        context.UpstreamStatusCode = 200;
        context.SettleStarted = true;
        context.ClientAborted = true;
        context.DeliveredOutputTokens = 40;

        await Settlement.SettleAsync(context);

        var charge = (hold.Estimate.PromptTokens * 1m + 40 * 10m) / 1_000_000m;
        Assert.Equal(charge, context.ChargedCost);
        Assert.Equal((ReservationState.Settled, (decimal?)charge), await StateAsync(context.RequestId));
        Assert.Equal(charge, context.SettledRecord!.Cost);
        Assert.Equal("client_aborted", context.SettledRecord.ErrorType);

        // A stream settles after its body: no header is added then.
        Assert.False(context.HttpContext.Response.Headers.ContainsKey(BudgetSettlement.ChargedHeader));
    }

    [Fact]
    public async Task A_settle_that_finds_no_hold_charges_nothing_and_the_balance_header_is_read_from_the_ledger()
    {
        // The reservation never committed (its answer was lost with it): the ledger has nothing to settle and reports no
        // balance with its answer, so the header's balance is read.
        using var context = Context(_gpt);
        context.Caller = new RelayCaller("alice", []);
        context.BudgetHold = new BudgetHold("alice", new CostEstimate(100, 1000, 0.0101m, true, false, false));
        await _relay.App.Services.GetRequiredService<KeyBudgets>().EnsureOpenedAsync("alice", CancellationToken.None);
        context.Upstream = _gpt;
        context.UpstreamStatusCode = 200;
        context.ReportedUsage = new TokenUsage(100, 0, 0, 500);
        context.HeldAnswer = new CommunityToolkit.HighPerformance.Buffers.ArrayPoolBufferWriter<byte>();

        await Settlement.SettleAsync(context);

        Assert.Equal("0", context.HttpContext.Response.Headers[BudgetSettlement.ChargedHeader].ToString());
        Assert.Equal("10", context.HttpContext.Response.Headers[BudgetSettlement.BalanceHeader].ToString());
        Assert.Equal(0m, context.ChargedCost);
        Assert.Null(await _relay.Ledger().GetReservationAsync(context.RequestId));
        Assert.Equal(10m, (await _relay.Ledger().GetBalanceAsync("alice"))!.Balance);
    }

    [Theory]
    [InlineData(null, false, true, false)]
    [InlineData(null, true, false, false)]
    [InlineData(null, true, true, true)]
    [InlineData(500, true, true, false)]
    [InlineData(200, false, false, true)]
    public void Without_an_answer_only_a_request_sent_whole_to_a_caller_who_left_bills_its_prompt(int? status, bool aborted, bool sent, bool charged)
    {
        // No status line: an upstream that timed out or broke after the request was sent is free, unless the caller left
        // first (then the upstream works on it and bills it); an upstream error status is free whatever the caller did.
        using var context = Context(_gpt);
        context.Upstream = _gpt;
        context.UpstreamStatusCode = status;
        context.ClientAborted = aborted;
        context.RequestSent = sent;

        var hold = new BudgetHold("alice", new CostEstimate(300, 1000, 1m, true, false, false));
        Assert.Equal(charged ? 300 * 1m / 1_000_000m : null, Settlement.CostOf(context, hold));
    }

    private async Task<RelayRequestContext> AdmittedAsync()
    {
        var context = Context(_gpt);
        context.Caller = new RelayCaller("alice", []);
        Assert.Null(await _relay.App.Services.GetRequiredService<BudgetAdmission>().AdmitAsync(context));
        Assert.NotNull(context.BudgetHold);
        return context;
    }

    private async Task<(ReservationState, decimal?)> StateAsync(string requestId)
    {
        var reservation = (await _relay.Ledger().GetReservationAsync(requestId))!;
        return (reservation.State, reservation.Charged);
    }

    private RelayRequestContext Context(params UpstreamCandidate[] candidates)
    {
        var raw = Encoding.UTF8.GetBytes("""{"model":"gpt-5.5","messages":[{"role":"user","content":"Tell me a story about prices"}]}""");
        var document = JsonDocument.Parse(raw);
        var http = new DefaultHttpContext { RequestServices = _relay.App.Services };
        var context = new RelayRequestContext(http, RelayOperation.ChatCompletions, RelayOperation.ChatCompletions.Format, "req_" + Guid.NewGuid().ToString("N"), _time.GetUtcNow())
        {
            Body = new RelayRequestBody(raw, document),
            Candidates = candidates,
        };
        context.Fields = RelayOperation.ChatCompletions.ReadFields(document.RootElement).Fields;
        return context;
    }
}
