using System.ClientModel;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Budgets.Relay;

/// <summary>
/// Large prompts of a metered key: one its balance cannot pay for even by a lower bound is refused before any tokenizer
/// pass, and the rest are counted one at a time per key, so another key's requests go on meanwhile.
/// </summary>
public sealed class LargePromptTests
{
    // 100 KB of words: above the test's 64 KiB large-prompt size, counted by the tokenizer in one call.
    private static readonly string LargeText = string.Concat(Enumerable.Repeat("word ", 20_000));

    private static FakeRelay Create(TokenizerWatch watch, decimal budget, Action<Dictionary<string, string?>>? more = null) => FakeRelay.Create(
        BudgetRelay.Settings(budget, settings =>
        {
            settings["ModelRelay:Keys:1:Budget"] = "100";
            more?.Invoke(settings);
        }),
        services =>
        {
            services.AddSingleton(new PromptTokenCounter(tokenizer => new HeldTokenizer(tokenizer, watch)));
            services.Configure<BudgetEstimateOptions>(options =>
            {
                options.LargePromptBytes = 64 * 1024;
                options.LargePromptQueuePerKey = 2;
            });
        });

    [Fact]
    public async Task A_large_prompt_that_cannot_fit_even_by_its_lower_bound_is_refused_without_tokenizing_it()
    {
        var watch = new TokenizerWatch(largeChars: 50_000, held: false);

        // $1,000 per million input tokens: 100 KB is at least 781 tokens (100,000 bytes / 128), at least $0.78.
        await using var relay = Create(watch, budget: 0.5m, settings =>
        {
            settings["ModelRelay:Models:gpt-5.5:Price:Input"] = "1000";
            settings["ModelRelay:Models:claude-code-opus-4.8:Price:Input"] = "1000";
        });

        var chat = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        var openAi = await Assert.ThrowsAsync<ClientResultException>(() =>
            chat.CompleteChatAsync([new UserChatMessage(LargeText)], new ChatCompletionOptions { MaxOutputTokenCount = 10 }));
        Assert.Equal(429, openAi.Status);
        Assert.Contains("insufficient_quota", openAi.Message, StringComparison.Ordinal);
        Assert.Contains("costs at least $", openAi.Message, StringComparison.Ordinal);

        var anthropic = relay.App.CreateAnthropicClient(RelaySettings.AliceKey);
        var billing = await Assert.ThrowsAsync<AnthropicPaymentRequiredException>(() => anthropic.Messages.Create(new MessageCreateParams
        {
            Model = "claude-code-opus-4.8",
            MaxTokens = 10,
            Messages = [new UserMessageParam(LargeText)],
        }));
        Assert.Contains("costs at least $", billing.Message, StringComparison.Ordinal);

        Assert.Equal(0, watch.Total);
        Assert.Empty(relay.Fake.Requests);
        Assert.Equal(0.5m, (await relay.Ledger().GetBalanceAsync("alice"))!.Available);
    }

    [Fact]
    public async Task A_large_prompt_that_may_fit_is_counted_and_reserved_at_its_full_estimate()
    {
        var watch = new TokenizerWatch(largeChars: 50_000, held: false);
        await using var relay = Create(watch, budget: 10m);
        var http = relay.App.CreateClient();
        var body = $$"""{"model":"gpt-5.5","max_tokens":10,"messages":[{"role":"user","content":"{{LargeText}}"}]}""";

        var estimate = await BudgetRelay.EstimateAsync(http, "chat/completions", body);
        using var request = BudgetRelay.Post("/v1/chat/completions", body);
        using var response = await http.SendAsync(request);

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        Assert.Equal(BudgetAdmission.FormatMoney(estimate), response.Headers.GetValues(BudgetAdmission.ReservedHeader).Single());

        // Counted twice (the dry run and the request), each time inside its key's slot.
        Assert.Equal(2, watch.Total);
        Assert.Equal(1, watch.Peak);
    }

    [Fact]
    public async Task One_keys_large_prompts_are_counted_one_at_a_time_and_never_hold_up_another_key()
    {
        var watch = new TokenizerWatch(largeChars: 50_000, held: true);
        await using var relay = Create(watch, budget: 100m);
        var alice = relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 10 };

        // The first large prompt is in the tokenizer, held there.
        var first = alice.CompleteChatAsync([new UserChatMessage(LargeText)], options);
        await watch.WaitForEntryAsync();

        // Three more: two wait for alice's slot (the queue holds two), the third is refused at once, in OpenAI's format.
        var more = Enumerable.Range(0, 3).Select(_ => alice.CompleteChatAsync([new UserChatMessage(LargeText)], options)).ToList();
        var refused = await Task.WhenAny(more).WaitAsync(TimeSpan.FromSeconds(30));
        var busy = await Assert.ThrowsAsync<ClientResultException>(() => refused);
        Assert.Equal(429, busy.Status);
        Assert.Contains("rate_limit_exceeded", busy.Message, StringComparison.Ordinal);
        Assert.Equal("1", busy.GetRawResponse()!.Headers.TryGetValue("retry-after", out var retryAfter) ? retryAfter : null);
        more.Remove(refused);

        // Bob's small request is admitted and answered while all of alice's are still in or before the tokenizer.
        var bob = relay.App.CreateOpenAiClient(RelaySettings.BobKey).GetChatClient("gpt-5.5");
        var answer = await bob.CompleteChatAsync([new UserChatMessage("hi")], options).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEmpty(answer.Value.Content);
        Assert.Equal(1, watch.InFlight);
        Assert.False(first.IsCompleted);
        Assert.All(more, task => Assert.False(task.IsCompleted));

        watch.Release();
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(more).WaitAsync(TimeSpan.FromSeconds(30));

        // Alice's three admitted prompts were each counted once, never two at once.
        Assert.Equal(3, watch.Total);
        Assert.Equal(1, watch.Peak);
    }
}
