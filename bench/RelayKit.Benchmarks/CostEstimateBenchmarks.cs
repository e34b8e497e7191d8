using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.Benchmarks;

/// <summary>
/// Step 4: the worst-case cost a request reserves, its prompt counted with a real tokenizer. The estimator reads
/// the body as the relay has it by then, a parsed <see cref="JsonDocument"/>.
/// </summary>
[MemoryDiagnoser]
public class CostEstimateBenchmarks
{
    private readonly ModelPrice _price = new() { Input = 0.15m, Output = 0.6m, CachedInput = 0.075m };
    private WorstCaseEstimator _estimator = null!;
    private JsonDocument _short = null!;
    private JsonDocument _long = null!;

    [GlobalSetup]
    public void Setup()
    {
        _estimator = new WorstCaseEstimator(new PromptTokenCounter(), Options.Create(new BudgetEstimateOptions()));
        _short = JsonDocument.Parse(BenchRequests.ChatCompletion);
        _long = JsonDocument.Parse(BenchRequests.LongChatCompletion);

        // Tokenizers load on first use; that is start-up cost, not per-request cost.
        _estimator.Estimate(_short.RootElement, PromptFormat.OpenAIChat, BenchRequests.Model, _price, null);
        _estimator.Estimate(_short.RootElement, PromptFormat.AnthropicMessages, "claude-sonnet-4-5", _price, null);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _short.Dispose();
        _long.Dispose();
    }

    [Benchmark(Baseline = true, Description = "gpt-4o-mini (o200k, exact), 0.4 KB")]
    public decimal ShortExact() => _estimator.Estimate(_short.RootElement, PromptFormat.OpenAIChat, BenchRequests.Model, _price, null).Cost;

    [Benchmark(Description = "gpt-4o-mini (o200k, exact), 13 KB + tool")]
    public decimal LongExact() => _estimator.Estimate(_long.RootElement, PromptFormat.OpenAIChat, BenchRequests.Model, _price, null).Cost;

    [Benchmark(Description = "claude (cl100k x margin), 13 KB + tool")]
    public decimal LongApproximate() => _estimator.Estimate(_long.RootElement, PromptFormat.AnthropicMessages, "claude-sonnet-4-5", _price, null).Cost;

    [Benchmark(Description = "JsonDocument.Parse + estimate, 0.4 KB")]
    public decimal ParseAndEstimateShort()
    {
        using var body = JsonDocument.Parse(BenchRequests.ChatCompletion);
        return _estimator.Estimate(body.RootElement, PromptFormat.OpenAIChat, BenchRequests.Model, _price, null).Cost;
    }
}
