using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Tests.Budgets;

public sealed class WorstCaseEstimatorTests
{
    private static readonly BudgetEstimateOptions Defaults = new();
    private readonly WorstCaseEstimator _estimator = new(new PromptTokenCounter(), Options.Create(new BudgetEstimateOptions()));
    private readonly ModelPriceCatalog _catalog = new();

    private CostEstimate Estimate(string json, PromptFormat format, string model, int? cap = null)
    {
        Assert.True(_catalog.TryGetPrice(model, out var price));
        using var body = JsonDocument.Parse(json);
        return _estimator.Estimate(body.RootElement, format, model, price, cap ?? _catalog.GetOutputCap(model));
    }

    [Fact]
    public void A_request_prompt_is_counted_once_per_model_however_many_steps_estimate_it()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes("""{"model":"gpt-4o","messages":[{"role":"user","content":"Count me once, please."}]}""");
        using var context = new RelayRequestContext(new Microsoft.AspNetCore.Http.DefaultHttpContext(), RelayKit.AspNetCore.Protocols.RelayOperation.ChatCompletions,
            RelayKit.AspNetCore.Protocols.WireFormat.OpenAI, "req_test", DateTimeOffset.UnixEpoch)
        {
            Body = new RelayKit.AspNetCore.Protocols.RelayRequestBody(bytes, System.Text.Json.JsonDocument.Parse(bytes)),
        };
        Assert.True(_catalog.TryGetPrice("gpt-4o", out var price));

        // The rate limit's estimate (no price) and the budget's (a price, a cap) of the same request.
        var forLimit = _estimator.Estimate(context, PromptFormat.OpenAIChat, "gpt-4o", new ModelPrice(), null);
        var forBudget = _estimator.Estimate(context, PromptFormat.OpenAIChat, "gpt-4o", price, 100);
        var uncached = Estimate(System.Text.Encoding.UTF8.GetString(bytes), PromptFormat.OpenAIChat, "gpt-4o", 100);

        Assert.Equal(uncached.PromptTokens, forLimit.PromptTokens);
        Assert.Equal(uncached, forBudget);
        var (key, count) = Assert.Single(context.PromptTokenCounts);
        Assert.Equal((PromptFormat.OpenAIChat, "gpt-4o"), key);
        Assert.Equal(uncached.PromptTokens, count.Tokens);

        // What is remembered is what is used: a later estimate reads the count rather than tokenizing again.
        context.PromptTokenCounts[key] = count with { Tokens = 1_000_000 };
        Assert.Equal(1_000_000, _estimator.Estimate(context, PromptFormat.OpenAIChat, "gpt-4o", price, 100).PromptTokens);
    }

    [Fact]
    public void Chat_output_limit_is_the_larger_of_both_fields_and_multiplies_by_n()
    {
        const string messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Say hi\"}]";

        Assert.Equal(100, Estimate($$"""{"model":"gpt-4o",{{messages}},"max_tokens":100}""", PromptFormat.OpenAIChat, "gpt-4o").OutputTokens);
        Assert.Equal(50, Estimate($$"""{"model":"gpt-4o",{{messages}},"max_completion_tokens":50}""", PromptFormat.OpenAIChat, "gpt-4o").OutputTokens);

        // OpenAI honours max_completion_tokens, a server that knows only max_tokens honours that: either may bind.
        Assert.Equal(100, Estimate($$"""{"model":"gpt-4o",{{messages}},"max_tokens":100,"max_completion_tokens":50}""", PromptFormat.OpenAIChat, "gpt-4o").OutputTokens);
        Assert.Equal(100, Estimate($$"""{"model":"gpt-4o",{{messages}},"max_tokens":50,"max_completion_tokens":100}""", PromptFormat.OpenAIChat, "gpt-4o").OutputTokens);
        var three = Estimate($$"""{"model":"gpt-4o",{{messages}},"max_completion_tokens":50,"n":3}""", PromptFormat.OpenAIChat, "gpt-4o");
        Assert.Equal(150, three.OutputTokens);
        Assert.True(three.OutputLimitFromRequest);
        Assert.True(three.ExactTokenizer);
    }

    [Theory]
    [InlineData("\"max_tokens\":1e20")]
    [InlineData("\"max_tokens\":1e400")]
    [InlineData("\"max_tokens\":100,\"n\":1e20")]
    [InlineData("\"max_tokens\":100,\"n\":4611686018427387904")]
    [InlineData("\"max_completion_tokens\":9223372036854775807,\"n\":2")]
    public void An_output_limit_past_longs_range_is_the_largest_worst_case_not_an_overflow(string fields)
    {
        var estimate = Estimate($$"""{"model":"gpt-4o","messages":[{"role":"user","content":"Say hi"}],{{fields}}}""", PromptFormat.OpenAIChat, "gpt-4o");

        Assert.Equal(long.MaxValue, estimate.OutputTokens);
        Assert.True(estimate.Cost > 1_000_000_000m, $"a worst case of {estimate.Cost} USD would fit a budget");
    }

    [Theory]
    [InlineData("-1e400", 0)]
    [InlineData("1e-400", 0)]
    [InlineData("-5", 0)]
    [InlineData("0.5", 1)]
    public void A_negative_or_tiny_output_limit_reserves_no_output(string maxTokens, long expected)
    {
        var estimate = Estimate($$"""{"model":"gpt-4o","messages":[{"role":"user","content":"Say hi"}],"max_tokens":{{maxTokens}}}""", PromptFormat.OpenAIChat, "gpt-4o");

        Assert.Equal(expected, estimate.OutputTokens);
    }

    [Fact]
    public void Without_a_limit_in_the_request_the_model_cap_or_the_default_applies_and_is_flagged()
    {
        var capped = Estimate("""{"messages":[{"role":"user","content":"hi"}]}""", PromptFormat.OpenAIChat, "gpt-4o");
        Assert.Equal(16_384, capped.OutputTokens);
        Assert.False(capped.OutputLimitFromRequest);

        var price = new ModelPrice { Input = 1m, Output = 2m };
        using var input = JsonDocument.Parse("""{"input":"hi"}""");
        var fallback = _estimator.Estimate(input.RootElement, PromptFormat.OpenAIResponses, "gpt-5.5", price, null);
        Assert.Equal(Defaults.DefaultOutputCap, fallback.OutputTokens);
        Assert.Equal(TokenCost.WorstCase(price, fallback.PromptTokens, fallback.OutputTokens), fallback.Cost);
    }

    [Fact]
    public void Cost_is_the_prompt_at_the_dearest_prompt_price_plus_the_output_limit_at_the_output_price()
    {
        var estimate = Estimate("""{"messages":[{"role":"user","content":"Hello there"}],"max_tokens":1000}""", PromptFormat.OpenAIChat, "gpt-4o");
        var gpt4o = BuiltInModelPrices.Table["gpt-4o"].Price;

        Assert.Equal(((estimate.PromptTokens * 2.50m) + (1000 * 10m)) / 1_000_000m, estimate.Cost);
        var text = TiktokenTokenizer.CreateForModel("gpt-4o").CountTokens("Hello there");
        Assert.InRange(estimate.PromptTokens, text + Defaults.MessageOverheadTokens, text + 20);
        Assert.Equal(TokenCost.WorstCase(gpt4o, estimate.PromptTokens, 1000), estimate.Cost);
    }

    [Fact]
    public void Responses_limit_and_context_the_relay_cannot_see_are_reported()
    {
        var plain = Estimate("""{"input":"Tell me a joke","instructions":"Be brief","max_output_tokens":64}""", PromptFormat.OpenAIResponses, "gpt-5");
        Assert.Equal(64, plain.OutputTokens);
        Assert.False(plain.HasUncountedContext);

        var chained = Estimate("""{"input":"And another","previous_response_id":"resp_1","max_output_tokens":64}""", PromptFormat.OpenAIResponses, "gpt-5");
        Assert.True(chained.HasUncountedContext);
        var file = Estimate("""{"input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}""", PromptFormat.OpenAIResponses, "gpt-5");
        Assert.True(file.HasUncountedContext);
    }

    [Fact]
    public void Embeddings_cost_only_their_input_and_token_arrays_count_by_length()
    {
        var tokens = Estimate("""{"input":[[1,2,3,4,5],[6,7]],"model":"text-embedding-3-small"}""", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small");
        Assert.Equal(7, tokens.PromptTokens);
        Assert.Equal(0, tokens.OutputTokens);
        Assert.Equal(7 * 0.02m / 1_000_000m, tokens.Cost);

        var strings = Estimate("""{"input":["a cat","a dog on a mat"]}""", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small");
        var cl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base");
        Assert.Equal(cl100k.CountTokens("a cat") + cl100k.CountTokens("a dog on a mat"), strings.PromptTokens);
    }

    [Fact]
    public void Anthropic_prompts_carry_the_margin_and_tool_use_adds_its_system_prompt()
    {
        var text = string.Join(' ', Enumerable.Repeat("The quick brown fox jumps over the lazy dog.", 40));
        var plain = Estimate($$"""{"system":"Be kind","messages":[{"role":"user","content":"{{text}}"}],"max_tokens":512}""", PromptFormat.AnthropicMessages, "claude-sonnet-4-5");

        Assert.False(plain.ExactTokenizer);
        var cl100k = TiktokenTokenizer.CreateForEncoding("cl100k_base").CountTokens(text);
        Assert.True(plain.PromptTokens >= Math.Ceiling(cl100k * Defaults.ApproximateTokenizerMargin), $"{plain.PromptTokens} for {cl100k}");
        Assert.Equal(512, plain.OutputTokens);

        var withTools = Estimate("""{"system":"Be kind","messages":[{"role":"user","content":"TEXT"}],"max_tokens":512,"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]}""".Replace("TEXT", text, StringComparison.Ordinal), PromptFormat.AnthropicMessages, "claude-sonnet-4-5");
        Assert.True(withTools.PromptTokens - plain.PromptTokens >= Defaults.AnthropicToolSystemPromptTokens * Defaults.ApproximateTokenizerMargin);
    }

    [Fact]
    public void An_image_costs_the_fixed_allowance_not_its_bytes()
    {
        var base64 = Convert.ToBase64String(new byte[300_000]);
        var openAi = Estimate($$$"""{"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{base64}}}"}}]}],"max_tokens":10}""", PromptFormat.OpenAIChat, "gpt-4o");
        var anthropic = Estimate($$$"""{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"{{{base64}}}"}}]}],"max_tokens":10}""", PromptFormat.AnthropicMessages, "claude-haiku-4-5");

        Assert.InRange(openAi.PromptTokens, Defaults.ImageTokens, Defaults.ImageTokens + 50);
        Assert.InRange(anthropic.PromptTokens, Defaults.ImageTokens * Defaults.ApproximateTokenizerMargin, (Defaults.ImageTokens + 50) * Defaults.ApproximateTokenizerMargin);
    }

    [Fact]
    public void A_body_that_is_not_an_object_or_a_missing_price_is_refused_before_anything_is_counted()
    {
        Assert.True(_catalog.TryGetPrice("gpt-4o", out var price));
        using var array = JsonDocument.Parse("""[{"role":"user","content":"Hello"}]""");
        var notObject = Assert.Throws<ArgumentException>(() => _estimator.Estimate(array.RootElement, PromptFormat.OpenAIChat, "gpt-4o", price, 10));
        Assert.Contains("JSON object", notObject.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => _estimator.LowerBound(array.RootElement, PromptFormat.OpenAIChat, "gpt-4o", price, 10));

        using var body = JsonDocument.Parse("""{"messages":[{"role":"user","content":"Hello"}]}""");
        Assert.Throws<ArgumentNullException>(() => _estimator.Estimate(body.RootElement, PromptFormat.OpenAIChat, "gpt-4o", null!, 10));
        Assert.Throws<ArgumentNullException>(() => _estimator.LowerBound(body.RootElement, PromptFormat.OpenAIChat, "gpt-4o", null!, 10));
    }

    [Fact]
    public void Only_chat_completions_multiply_the_output_limit_by_n()
    {
        // n means choices only in chat completions; elsewhere it is not a field the upstream reads, and must not triple the hold.
        var responses = Estimate("""{"input":"Tell me a joke","max_output_tokens":100,"n":3}""", PromptFormat.OpenAIResponses, "gpt-5");
        Assert.Equal(100, responses.OutputTokens);
        Assert.Equal(TokenCost.WorstCase(Price("gpt-5"), responses.PromptTokens, 100), responses.Cost);

        var messages = Estimate("""{"messages":[{"role":"user","content":"Tell me a joke"}],"max_tokens":100,"n":3}""", PromptFormat.AnthropicMessages, "claude-sonnet-4-5");
        Assert.Equal(100, messages.OutputTokens);
        Assert.Equal(TokenCost.WorstCase(Price("claude-sonnet-4-5"), messages.PromptTokens, 100), messages.Cost);

        var chat = Estimate("""{"messages":[{"role":"user","content":"Tell me a joke"}],"max_tokens":100,"n":3}""", PromptFormat.OpenAIChat, "gpt-4o");
        Assert.Equal(300, chat.OutputTokens);
    }

    [Fact]
    public void A_limit_times_n_just_inside_longs_range_is_taken_exactly_not_saturated()
    {
        // 2^43 - 1 tokens in each of 2^20 choices: the product fits in a long (just), so it is the worst case as is.
        const long limit = (1L << 43) - 1;
        var exact = Estimate($$"""{"messages":[{"role":"user","content":"Hi"}],"max_tokens":{{limit}},"n":{{1 << 20}}}""", PromptFormat.OpenAIChat, "gpt-4o");
        Assert.Equal(limit * (1 << 20), exact.OutputTokens);
        Assert.NotEqual(long.MaxValue, exact.OutputTokens);

        // One more token each and it would not fit: then it saturates.
        var past = Estimate($$"""{"messages":[{"role":"user","content":"Hi"}],"max_tokens":{{limit + 1}},"n":{{1 << 20}}}""", PromptFormat.OpenAIChat, "gpt-4o");
        Assert.Equal(long.MaxValue, past.OutputTokens);
    }

    [Fact]
    public void A_conversation_or_a_file_source_is_reported_as_context_the_relay_cannot_see()
    {
        Assert.True(Estimate("""{"input":"And another","conversation":"conv_1"}""", PromptFormat.OpenAIResponses, "gpt-5").HasUncountedContext);
        Assert.True(Estimate("""{"input":"And another","prompt":{"id":"pmpt_1"}}""", PromptFormat.OpenAIResponses, "gpt-5").HasUncountedContext);
        Assert.False(Estimate("""{"input":"And another","conversation":null}""", PromptFormat.OpenAIResponses, "gpt-5").HasUncountedContext);

        // An Anthropic document whose source is a file: its text is on the provider's side, whatever the source names it by.
        Assert.True(Estimate("""{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"file"}}]}],"max_tokens":10}""", PromptFormat.AnthropicMessages, "claude-sonnet-4-5").HasUncountedContext);

        // Sources that carry their content, or a "source" that is no object at all, are counted.
        Assert.False(Estimate("""{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Plain"}}]}],"max_tokens":10}""", PromptFormat.AnthropicMessages, "claude-sonnet-4-5").HasUncountedContext);
        Assert.False(Estimate("""{"messages":[{"role":"user","content":[{"type":"text","text":"Hi","source":"inline"}]}],"max_tokens":10}""", PromptFormat.AnthropicMessages, "claude-sonnet-4-5").HasUncountedContext);
        Assert.False(Estimate("""{"messages":[{"role":"user","content":[{"type":"text","text":"Hi","source":{"kind":"file"}}]}],"max_tokens":10}""", PromptFormat.AnthropicMessages, "claude-sonnet-4-5").HasUncountedContext);
    }

    [Fact]
    public void An_embeddings_token_array_counts_one_token_per_number_however_many_digits()
    {
        // Token ids, not text: 123456789 is one token, although its digits would tokenize to several.
        var ids = Estimate("""{"input":[123456789,987654321,100000]}""", PromptFormat.OpenAIEmbeddings, "text-embedding-3-small");
        Assert.Equal(3, ids.PromptTokens);
        Assert.Equal(3 * 0.02m / 1_000_000m, ids.Cost);

        // Embeddings have no output: nothing was assumed, so admission writes no output limit into the body.
        Assert.Equal(0, ids.OutputTokens);
        Assert.True(ids.OutputLimitFromRequest);
    }

    private ModelPrice Price(string model)
    {
        Assert.True(_catalog.TryGetPrice(model, out var price));
        return price;
    }
}
