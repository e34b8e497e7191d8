using System.Globalization;
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
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// Admission and settlement over more than one candidate and over the candidate that answered: which price a hold
/// and a charge are taken at, which output limit is written into the body, and when the hold expires. gpt-5.5 costs
/// $1/$10 per million tokens with an output cap of 1000, the Claude alias $3/$15 with a cap of 500.
/// </summary>
public sealed class CandidatePricingTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero));
    private FakeRelay _relay = null!;
    private UpstreamCandidate _gpt = null!;
    private UpstreamCandidate _claude = null!;

    public Task InitializeAsync()
    {
        _relay = FakeRelay.Create(
            BudgetRelay.Settings(10m, s =>
            {
                s["ModelRelay:Models:claude-code-opus-4.8:Price:Input"] = "3";
                s["ModelRelay:Models:claude-code-opus-4.8:Price:Output"] = "15";
                s["ModelRelay:Models:gpt-5.5:MaxOutputTokens"] = "1000";
                s["ModelRelay:Models:claude-code-opus-4.8:MaxOutputTokens"] = "500";
                s["ModelRelay:Budgets:LeaseRequests"] = "0";
                s["ModelRelay:Budgets:ReservationLifetime"] = "00:07:00";
            }),
            services => services.AddSingleton<TimeProvider>(_time));
        var table = _relay.App.Services.GetRequiredService<ModelRouter>().Table;
        _gpt = table.Resolve("gpt-5.5")[0];
        _claude = table.Resolve("claude-code-opus-4.8")[0];
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    private BudgetSettlement Settlement => _relay.App.Services.GetRequiredService<BudgetSettlement>();

    private BudgetAdmission Admission => _relay.App.Services.GetRequiredService<BudgetAdmission>();

    [Fact]
    public void A_reported_usage_is_charged_at_the_price_of_the_candidate_that_answered()
    {
        var usage = new TokenUsage(1000, 0, 0, 2000);
        var hold = Hold(100);

        // The fallback answered: its price ($3/$15), not the first candidate's ($1/$10).
        using var fallback = Context(RelayOperation.ChatCompletions, ChatBody, _gpt, _claude);
        fallback.Upstream = _claude;
        fallback.ReportedUsage = usage;
        Assert.Equal(0.033m, Settlement.CostOf(fallback, hold));

        using var first = Context(RelayOperation.ChatCompletions, ChatBody, _claude, _gpt);
        first.Upstream = _gpt;
        first.ReportedUsage = usage;
        Assert.Equal(0.021m, Settlement.CostOf(first, hold));

        // No upstream recorded (it never got that far) but usage somehow known: the first candidate's price.
        using var none = Context(RelayOperation.ChatCompletions, ChatBody, _claude, _gpt);
        none.ReportedUsage = usage;
        Assert.Equal(0.033m, Settlement.CostOf(none, hold));

        // No candidate at all: nothing to price, the hold is released.
        using var empty = Context(RelayOperation.ChatCompletions, ChatBody);
        empty.ReportedUsage = usage;
        Assert.Null(Settlement.CostOf(empty, hold));
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(399, true)]
    [InlineData(199, false)]
    [InlineData(400, false)]
    [InlineData(500, false)]
    public void Without_usage_an_accepted_request_is_charged_its_prompt_and_delivered_output_at_the_answering_price(int status, bool charged)
    {
        var hold = Hold(100);
        using var context = Context(RelayOperation.ChatCompletions, ChatBody, _gpt, _claude);
        context.Upstream = _claude;
        context.UpstreamStatusCode = status;
        context.DeliveredOutputTokens = 100;

        // The estimator's 100 prompt tokens at $3, 100 delivered at $15.
        Assert.Equal(charged ? 0.0018m : null, Settlement.CostOf(context, hold));

        // The prompt as the upstream reported it up front, when it did.
        context.ReportedPromptUsage = new TokenUsage(40, 0, 0, 0);
        Assert.Equal(charged ? 0.00162m : null, Settlement.CostOf(context, hold));
    }

    [Fact]
    public void A_request_no_upstream_accepted_is_released()
    {
        using var context = Context(RelayOperation.ChatCompletions, ChatBody, _gpt);
        context.UpstreamStatusCode = 200;
        context.DeliveredOutputTokens = 100;
        Assert.Null(Settlement.CostOf(context, Hold(100)));
    }

    [Fact]
    public void The_hold_is_the_dearest_candidates_worst_case_and_the_smallest_cap_is_written_into_the_body()
    {
        var (gptAlone, gptOverrides) = Estimate(RelayOperation.ChatCompletions, ChatBody, _gpt);
        var (claudeAlone, claudeOverrides) = Estimate(RelayOperation.ChatCompletions, ChatBody, _claude);
        Assert.Equal(1000, gptAlone.OutputTokens);
        Assert.Equal(500, claudeAlone.OutputTokens);
        Assert.Equal(1000, (int)gptOverrides["max_completion_tokens"]!);
        Assert.Equal(500, (int)claudeOverrides["max_tokens"]!);

        // Each candidate's worst case at its own price and cap; the hold is the dearer of the two, in either order.
        var dearest = gptAlone.Cost > claudeAlone.Cost ? gptAlone : claudeAlone;
        Assert.Equal(gptAlone.PromptTokens * 1m / 1_000_000m + 1000 * 10m / 1_000_000m, gptAlone.Cost);
        Assert.True(claudeAlone.Cost > claudeAlone.PromptTokens * 3m / 1_000_000m + 500 * 15m / 1_000_000m - 0.0000001m);
        Assert.NotEqual(gptAlone.Cost, claudeAlone.Cost);

        foreach (var order in new[] { new[] { _gpt, _claude }, [_claude, _gpt] })
        {
            var (both, overrides) = Estimate(RelayOperation.ChatCompletions, ChatBody, order);
            Assert.Equal(dearest, both);

            // Named for the first candidate's upstream model, bound by the smaller cap.
            var field = Assert.Single(overrides);
            Assert.Equal(order[0] == _gpt ? "max_completion_tokens" : "max_tokens", field.Key);
            Assert.Equal(500, (int)field.Value!);
        }

        // A limit the caller set is kept: nothing is written.
        var (own, ownOverrides) = Estimate(RelayOperation.ChatCompletions, """{"model":"gpt-5.5","max_completion_tokens":64,"messages":[{"role":"user","content":"Hello"}]}""", _gpt, _claude);
        Assert.Equal(64, own.OutputTokens);
        Assert.Empty(ownOverrides);
    }

    [Theory]
    [InlineData("gpt-5", "max_completion_tokens")]
    [InlineData("GPT-5-mini", "max_completion_tokens")]
    [InlineData("o3-mini", "max_completion_tokens")]
    [InlineData("O1", "max_completion_tokens")]
    [InlineData("o", "max_tokens")]
    [InlineData("omni-large", "max_tokens")]
    [InlineData("gpt-4o", "max_tokens")]
    [InlineData("deepseek-chat", "max_tokens")]
    public void Chat_output_limit_is_written_under_the_name_the_upstream_model_takes(string upstreamModel, string field)
    {
        var (_, overrides) = Estimate(RelayOperation.ChatCompletions, ChatBody, new UpstreamCandidate(_gpt.Entry, upstreamModel));
        Assert.Equal(1000, (int)Assert.Single(overrides, o => o.Key == field).Value!);
        Assert.Single(overrides);
    }

    [Fact]
    public void Responses_and_messages_take_their_own_output_limit_and_embeddings_none()
    {
        var (_, responses) = Estimate(RelayOperation.Responses, """{"model":"gpt-5.5","input":"Hello"}""", _gpt);
        Assert.Equal(1000, (int)Assert.Single(responses, o => o.Key == "max_output_tokens").Value!);

        var (_, messages) = Estimate(RelayOperation.Messages, """{"model":"claude-code-opus-4.8","messages":[{"role":"user","content":"Hello"}]}""", _claude);
        Assert.Equal(500, (int)Assert.Single(messages, o => o.Key == "max_tokens").Value!);
    }

    [Fact]
    public async Task The_hold_is_taken_at_the_worst_case_and_lives_for_the_configured_lifetime_from_now()
    {
        var admitted = _time.GetUtcNow();
        using var context = Context(RelayOperation.ChatCompletions, ChatBody, _gpt, _claude);
        context.Caller = new RelayCaller("alice", []);
        Assert.Null(await Admission.AdmitAsync(context));

        var hold = context.BudgetHold!;
        var reservation = (await _relay.Ledger().GetReservationAsync(context.RequestId))!;
        Assert.Equal(admitted + TimeSpan.FromMinutes(7), reservation.ExpiresAt);
        Assert.Equal(hold.Estimate.Cost, reservation.Amount);
        Assert.Equal(BudgetAdmission.FormatMoney(hold.Estimate.Cost), context.HttpContext.Response.Headers[BudgetAdmission.ReservedHeader].ToString());
        Assert.Equal(10m - hold.Estimate.Cost, (await _relay.Ledger().GetBalanceAsync("alice"))!.Available);

        // Not swept one tick before it expires, swept at its expiry (by the relay's own sweeper or this call).
        _time.Advance(TimeSpan.FromMinutes(7) - TimeSpan.FromMilliseconds(1));
        await _relay.Ledger().ReleaseExpiredAsync();
        Assert.Equal(ReservationState.Open, (await _relay.Ledger().GetReservationAsync(context.RequestId))!.State);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await _relay.Ledger().ReleaseExpiredAsync();
        Assert.Equal(ReservationState.Expired, (await _relay.Ledger().GetReservationAsync(context.RequestId))!.State);
        Assert.Equal(10m, (await _relay.Ledger().GetBalanceAsync("alice"))!.Available);
    }

    [Fact]
    public async Task A_hold_beyond_the_balance_is_refused_with_what_is_available_and_holds_nothing()
    {
        using var first = Context(RelayOperation.ChatCompletions, ChatBody, _gpt);
        first.Caller = new RelayCaller("alice", []);
        Assert.Null(await Admission.AdmitAsync(first));
        var held = first.BudgetHold!.Estimate.Cost;
        Assert.True((await _relay.Ledger().TryReserveAsync("alice", "other", 10m - held - 0.000001m, _time.GetUtcNow().AddMinutes(1))).Granted);

        using var context = Context(RelayOperation.ChatCompletions, ChatBody, _gpt);
        context.Caller = new RelayCaller("alice", []);
        var error = await Admission.AdmitAsync(context);

        Assert.NotNull(error);
        Assert.Equal((429, "insufficient_quota"), (error.Status, error.Code));
        Assert.Contains($"${held:0.######}, $0.000001 is available", error.Message, StringComparison.Ordinal);
        Assert.Null(context.BudgetHold);
        Assert.Null(await _relay.Ledger().GetReservationAsync(context.RequestId));
        Assert.Equal(new BudgetBalance("alice", 10m, 10m - 0.000001m, 0m, false), await _relay.Ledger().GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task A_cut_answer_of_a_fallback_is_counted_with_the_tokenizer_of_the_upstream_that_answered()
    {
        // gpt-4 counts with cl100k, gpt-4o with o200k: the same Cyrillic text is a different number of tokens in each.
        const string Delivered = "Привет! Это ответ резервной модели, оборванный на середине длинного предложения о бюджетах";
        var cl100k = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt-4").CountTokens(Delivered);
        var o200k = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt-4o").CountTokens(Delivered);
        Assert.NotEqual(cl100k, o200k);

        using var context = Context(RelayOperation.ChatCompletions, ChatBody,
            new UpstreamCandidate(_gpt.Entry, "gpt-4"), new UpstreamCandidate(_gpt.Entry, "gpt-4o"));
        var metering = _relay.App.Services.GetRequiredService<RelayKit.AspNetCore.Metering.MeteringAdmission>();
        Assert.Null(await metering.AdmitAsync(context));
        var meter = Assert.IsType<RelayKit.AspNetCore.Metering.UsageMeter>(context.Meter);

        // The first candidate failed; the fallback answered and its stream broke off before any usage.
        context.Upstream = context.Candidates[1];
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent("") };
        response.Content.Headers.ContentType = new("text/event-stream");
        meter.OnResponseStarted(response);
        var chunk = System.Text.Json.JsonSerializer.Serialize(new { id = "c1", @object = "chat.completion.chunk", choices = new[] { new { index = 0, delta = new { content = Delivered } } } });
        meter.OnBodyChunk(Encoding.UTF8.GetBytes("data: " + chunk + "\n\n"));
        meter.OnResponseEnded(completed: false);

        Assert.Null(context.ReportedUsage);
        Assert.Equal(o200k, context.DeliveredOutputTokens);
    }

    [Fact]
    public async Task Of_two_candidates_with_the_same_worst_case_the_first_is_held_and_its_own_prompt_count_is_charged()
    {
        // gpt-4o counts the prompt exactly (o200k), a model no tokenizer knows approximately (cl100k and the margin):
        // the same prompt is two different counts.
        var price = _relay.App.Services.GetRequiredService<RelayPriceCatalog>().PriceOf(_gpt)!;
        var estimator = _relay.App.Services.GetRequiredService<WorstCaseEstimator>();
        using var document = JsonDocument.Parse(ChatBody);
        var exact = estimator.Estimate(document.RootElement, PromptFormat.OpenAIChat, "gpt-4o", price, 100).PromptTokens;
        var approximate = estimator.Estimate(document.RootElement, PromptFormat.OpenAIChat, "model-no-tokenizer-knows", price, 100).PromptTokens;
        Assert.NotEqual(exact, approximate);

        // Every token class of both at $2 a million, each output cap making up for the other's prompt: the two worst
        // cases are the same amount, (exact + approximate + 1000) tokens at $2.
        await using var relay = FakeRelay.Create(BudgetRelay.Settings(10m, s =>
        {
            foreach (var model in new[] { "gpt-5.5", "claude-code-opus-4.8" })
            {
                foreach (var kind in new[] { "Input", "Output", "CachedInput", "CacheWrite" })
                {
                    s[$"ModelRelay:Models:{model}:Price:{kind}"] = "2";
                }
            }

            s["ModelRelay:Models:gpt-5.5:MaxOutputTokens"] = (1000 + approximate).ToString(CultureInfo.InvariantCulture);
            s["ModelRelay:Models:claude-code-opus-4.8:MaxOutputTokens"] = (1000 + exact).ToString(CultureInfo.InvariantCulture);
            s["ModelRelay:Budgets:LeaseRequests"] = "0";
        }));
        var table = relay.App.Services.GetRequiredService<ModelRouter>().Table;
        var first = new UpstreamCandidate(table.Resolve("gpt-5.5")[0].Entry, "gpt-4o");
        var second = new UpstreamCandidate(table.Resolve("claude-code-opus-4.8")[0].Entry, "model-no-tokenizer-knows");
        var worstCase = (exact + approximate + 1000) * 2m / 1_000_000m;

        using var context = Context(relay, RelayOperation.ChatCompletions, ChatBody, first, second);
        context.Caller = new RelayCaller("alice", []);
        Assert.Null(await relay.App.Services.GetRequiredService<BudgetAdmission>().AdmitAsync(context));
        var hold = context.BudgetHold!;
        Assert.Equal(worstCase, (await relay.Ledger().GetReservationAsync(context.RequestId))!.Amount);
        Assert.Equal(exact, hold.Estimate.PromptTokens);

        // The first candidate answered and its stream broke off before any usage: its prompt as its own tokenizer
        // counted it, and the 7 tokens delivered, at $2; not the second candidate's count of the same prompt.
        context.Upstream = first;
        context.UpstreamStatusCode = 200;
        context.DeliveredOutputTokens = 7;
        await relay.App.Services.GetRequiredService<BudgetSettlement>().SettleAsync(context);
        var settled = (await relay.Ledger().GetReservationAsync(context.RequestId))!;
        Assert.Equal(ReservationState.Settled, settled.State);
        Assert.Equal((exact + 7) * 2m / 1_000_000m, settled.Charged);
        Assert.Equal(10m - ((exact + 7) * 2m / 1_000_000m), (await relay.Ledger().GetBalanceAsync("alice"))!.Balance);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_large_prompt_is_refused_early_at_the_dearest_candidates_lower_bound_only_when_that_exceeds_what_is_available(bool claudeFirst)
    {
        // Every prompt of this relay is large (1 KiB), so admission bounds it from below before counting it.
        await using var relay = FakeRelay.Create(
            BudgetRelay.Settings(10m, s =>
            {
                s["ModelRelay:Models:claude-code-opus-4.8:Price:Input"] = "3";
                s["ModelRelay:Models:claude-code-opus-4.8:Price:CachedInput"] = "3";
                s["ModelRelay:Models:claude-code-opus-4.8:Price:CacheWrite"] = "3";
                s["ModelRelay:Budgets:LeaseRequests"] = "0";
            }),
            services => services.Configure<BudgetEstimateOptions>(options => options.LargePromptBytes = 1024));
        var table = relay.App.Services.GetRequiredService<ModelRouter>().Table;
        var gpt = table.Resolve("gpt-5.5")[0];
        var claude = table.Resolve("claude-code-opus-4.8")[0];
        var body = $$"""{"model":"gpt-5.5","max_tokens":10,"messages":[{"role":"user","content":"{{string.Concat(Enumerable.Repeat("word ", 2000))}}"}]}""";
        var prices = relay.App.Services.GetRequiredService<RelayPriceCatalog>();
        var estimator = relay.App.Services.GetRequiredService<WorstCaseEstimator>();
        using var document = JsonDocument.Parse(body);
        var gptBound = estimator.LowerBound(document.RootElement, PromptFormat.OpenAIChat, gpt.UpstreamModel, prices.PriceOf(gpt)!, prices.OutputCapOf(gpt)).Cost;
        var claudeBound = estimator.LowerBound(document.RootElement, PromptFormat.OpenAIChat, claude.UpstreamModel, prices.PriceOf(claude)!, prices.OutputCapOf(claude)).Cost;
        Assert.True(claudeBound > gptBound);
        UpstreamCandidate[] candidates = claudeFirst ? [claude, gpt] : [gpt, claude];

        // Available between the two bounds: the dearer bound alone already exceeds it, so the request is refused early,
        // naming that bound as what it costs at least, and nothing is held.
        await HoldAllButAsync(relay, "all-but", claudeBound - 0.000001m);
        var early = await AdmitAsync(relay, body, candidates);
        Assert.NotNull(early);
        Assert.Contains($"costs at least ${claudeBound:0.######}, ${claudeBound - 0.000001m:0.######} is available", early.Message, StringComparison.Ordinal);

        // Available exactly the dearer bound: the prompt may fit, so it is counted, and the reservation refuses its full
        // worst case (which the bound only approaches from below).
        await relay.Ledger().ReleaseAsync("all-but");
        await HoldAllButAsync(relay, "all-but-exactly", claudeBound);
        var counted = await AdmitAsync(relay, body, candidates);
        Assert.NotNull(counted);
        Assert.DoesNotContain("at least", counted.Message, StringComparison.Ordinal);
        Assert.Contains($"${claudeBound:0.######} is available", counted.Message, StringComparison.Ordinal);
        Assert.Equal(claudeBound, (await relay.Ledger().GetBalanceAsync("alice"))!.Available);
    }

    private static async Task HoldAllButAsync(FakeRelay relay, string requestId, decimal available)
    {
        await relay.App.Services.GetRequiredService<KeyBudgets>().EnsureOpenedAsync("alice", CancellationToken.None);
        Assert.True((await relay.Ledger().TryReserveAsync("alice", requestId, 10m - available, relay.App.Services.GetRequiredService<TimeProvider>().GetUtcNow().AddMinutes(5))).Granted);
    }

    private async Task<RelayError?> AdmitAsync(FakeRelay relay, string body, UpstreamCandidate[] candidates)
    {
        using var context = Context(relay, RelayOperation.ChatCompletions, body, candidates);
        context.Caller = new RelayCaller("alice", []);
        var error = await relay.App.Services.GetRequiredService<BudgetAdmission>().AdmitAsync(context);
        Assert.Null(context.BudgetHold);
        return error;
    }

    private const string ChatBody = """{"model":"gpt-5.5","messages":[{"role":"user","content":"Tell me a story about prices"}]}""";

    private static BudgetHold Hold(long promptTokens) => new("alice", new CostEstimate(promptTokens, 200, 1m, false, true, false));

    private (CostEstimate Estimate, IDictionary<string, System.Text.Json.Nodes.JsonNode?> Overrides) Estimate(RelayOperation operation, string body, params UpstreamCandidate[] candidates)
    {
        var context = Context(operation, body, candidates);
        var (estimate, error) = Admission.Estimate(context);
        Assert.Null(error);
        // The limit the admission decided on, under the field the first attempt's body gets it (the forwarder writes it).
        var overrides = new Dictionary<string, System.Text.Json.Nodes.JsonNode?>(StringComparer.Ordinal);
        if (context.OutputLimit is { } limit)
        {
            overrides[context.UpstreamOperation.OutputLimitField(candidates[0].UpstreamModel)!] = limit;
        }

        return (estimate!, overrides);
    }

    private RelayRequestContext Context(RelayOperation operation, string body, params UpstreamCandidate[] candidates) =>
        Context(_relay, operation, body, candidates);

    private RelayRequestContext Context(FakeRelay relay, RelayOperation operation, string body, params UpstreamCandidate[] candidates)
    {
        var raw = Encoding.UTF8.GetBytes(body);
        var document = JsonDocument.Parse(raw);
        var http = new DefaultHttpContext { RequestServices = relay.App.Services };
        var context = new RelayRequestContext(http, operation, operation.Format, "req_" + Guid.NewGuid().ToString("N"), _time.GetUtcNow())
        {
            Body = new RelayRequestBody(raw, document),
            Candidates = candidates,
        };
        context.Fields = operation.ReadFields(document.RootElement).Fields;
        return context;
    }
}
