using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore;
using RelayKit.Testing;

namespace RelayKit.Benchmarks;

/// <summary>
/// One whole request through the relay in memory (TestServer in front, the fake upstream's in-memory
/// handler behind), against the same request sent to the fake directly: the difference is the relay.
/// </summary>
[MemoryDiagnoser]
public class RelayedRequestBenchmarks
{
    private const string RelayKey = "rk-bench-micro-0001";
    private const string Answer = "Casa do Conto, Torel 1884 and Pestana Vintage: all three sit on quiet streets above the river.";

    // The fake records every request it answers; forgetting them now and then keeps the heap flat.
    private const int ForgetRequestsEvery = 1024;

    private FakeUpstream _fake = null!;
    private WebApplication _app = null!;
    private HttpClient _relay = null!;
    private HttpClient _direct = null!;
    private byte[] _body = [];
    private byte[] _streamBody = [];
    private int _calls;

    [GlobalSetup]
    public async Task Setup()
    {
        _fake = new FakeUpstream();
        Script();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ModelRelay:Providers:openai:Kind"] = "OpenAI",
            ["ModelRelay:Providers:openai:BaseUrl"] = "http://fake-upstream/v1",
            ["ModelRelay:Providers:openai:ApiKey"] = "sk-bench-provider",
            [$"ModelRelay:Models:{BenchRequests.Model}:Provider"] = "openai",
            [$"ModelRelay:Models:{BenchRequests.Model}:Price:Input"] = "0.15",
            [$"ModelRelay:Models:{BenchRequests.Model}:Price:Output"] = "0.6",
            ["ModelRelay:Keys:0:Name"] = "bench",
            ["ModelRelay:Keys:0:Secret"] = RelayKey,
            ["ModelRelay:Keys:0:Budget"] = "1000000000",
            ["ModelRelay:Keys:0:RequestsPerMinute"] = "100000000",
            ["ModelRelay:Keys:0:TokensPerMinute"] = "100000000000",
            ["ModelRelay:Keys:0:MaxConcurrentRequests"] = "10000",

            // In memory: this measures the relay's own work; the load bench measures it on SQLite.
            ["ModelRelay:Budgets:Store"] = "InMemory",
            ["ModelRelay:Usage:Store"] = "InMemory",
        });
        builder.Services.AddModelRelay().ConfigureUpstreamHandler((_, _) => _fake.CreateHandler());
        _app = builder.Build();
        _app.MapModelRelay();
        await _app.StartAsync();

        _relay = _app.GetTestClient();
        _relay.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RelayKey);
        _direct = _fake.CreateClient();
        _body = Encoding.UTF8.GetBytes(BenchRequests.ChatCompletion);
        _streamBody = Encoding.UTF8.GetBytes(BenchRequests.StreamingChatCompletion);

        // Fail at setup, not with a misleading number, if the relay does not answer 200.
        using var probe = await _relay.PostAsync("v1/chat/completions", Content(_body));
        probe.EnsureSuccessStatusCode();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _relay.Dispose();
        _direct.Dispose();
        await _app.DisposeAsync();
        await _fake.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "direct to fake, JSON")]
    public Task<int> DirectJson() => Send(_direct, "v1/chat/completions", _body);

    [Benchmark(Description = "through relay, JSON")]
    public Task<int> RelayJson() => Send(_relay, "v1/chat/completions", _body);

    [Benchmark(Description = "direct to fake, stream")]
    public Task<int> DirectStream() => Send(_direct, "v1/chat/completions", _streamBody);

    [Benchmark(Description = "through relay, stream")]
    public Task<int> RelayStream() => Send(_relay, "v1/chat/completions", _streamBody);

    private static ByteArrayContent Content(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private void Script() => _fake.Setup().RespondWithText(Answer);

    private async Task<int> Send(HttpClient client, string path, byte[] body)
    {
        if (++_calls % ForgetRequestsEvery == 0)
        {
            _fake.Reset();
            Script();
        }

        using var response = await client.PostAsync(path, Content(body));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return (int)response.StatusCode + bytes.Length;
    }
}
