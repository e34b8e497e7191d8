using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.Benchmarks;

/// <summary>Step 2 of the request path: parse the body and read model, stream and the token cap.</summary>
[MemoryDiagnoser]
public class PolicyFieldBenchmarks
{
    private readonly byte[] _short = Encoding.UTF8.GetBytes(BenchRequests.ChatCompletion);
    private readonly byte[] _long = Encoding.UTF8.GetBytes(BenchRequests.LongChatCompletion);
    private JsonDocument? _parsed;

    [GlobalSetup]
    public void Setup() => _parsed = JsonDocument.Parse(_short);

    [GlobalCleanup]
    public void Cleanup() => _parsed?.Dispose();

    [Benchmark(Baseline = true, Description = "ReadFields (parsed)")]
    public int? ReadFieldsOnly() => RelayOperation.ChatCompletions.ReadFields(_parsed!.RootElement).Fields?.MaxOutputTokens;

    [Benchmark(Description = "Parse + ReadFields, 0.4 KB body")]
    public int? ParseAndReadShort()
    {
        using var document = JsonDocument.Parse(_short);
        return RelayOperation.ChatCompletions.ReadFields(document.RootElement).Fields?.MaxOutputTokens;
    }

    [Benchmark(Description = "Parse + ReadFields, 13 KB body")]
    public int? ParseAndReadLong()
    {
        using var document = JsonDocument.Parse(_long);
        return RelayOperation.ChatCompletions.ReadFields(document.RootElement).Fields?.MaxOutputTokens;
    }
}
