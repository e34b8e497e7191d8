using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using RelayKit.Testing;

namespace RelayKit.Benchmarks;

/// <summary>
/// What the fake upstream spends on one generated (unscripted) answer, through its in-memory handler:
/// request parsing, the seeded generator, token counting, ids, rendering and the in-memory transport.
/// Each call asks a slightly different question so no cache of a previous answer can serve it.
/// The "handler only" rows call the fake's request handler on a bare <see cref="DefaultHttpContext"/>: the
/// fake's own work without the HTTP client and TestServer around it.
/// </summary>
[MemoryDiagnoser]
public class FakeAnswerBenchmarks
{
    // The fake records every request and keeps stored responses; forgetting them now and then keeps the heap flat.
    private const int ForgetEvery = 1024;

    private FakeUpstream _fake = null!;
    private HttpClient _client = null!;
    private int _calls;

    [GlobalSetup]
    public async Task Setup()
    {
        _fake = new FakeUpstream();
        _client = _fake.CreateClient();
        using var probe = await _client.PostAsync("v1/chat/completions", Body(false));
        probe.EnsureSuccessStatusCode();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _client.Dispose();
        await _fake.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "generated chat answer, JSON")]
    public Task<int> GeneratedJson() => Send("v1/chat/completions", Body(false));

    [Benchmark(Description = "generated chat answer, stream")]
    public Task<int> GeneratedStream() => Send("v1/chat/completions", Body(true));

    [Benchmark(Description = "generated Responses answer, JSON (stored)")]
    public Task<int> GeneratedResponse() => Send("v1/responses", ResponsesBody());

    [Benchmark(Description = "handler only, generated chat answer, JSON")]
    public Task<int> HandlerJson() => Handle("/v1/chat/completions", ChatJson(false));

    [Benchmark(Description = "handler only, generated chat answer, stream")]
    public Task<int> HandlerStream() => Handle("/v1/chat/completions", ChatJson(true));

    private ByteArrayContent Body(bool stream) => Json(ChatJson(stream));

    private string ChatJson(bool stream) =>
        "{\"model\":\"gpt-4o-mini\"," + (stream ? "\"stream\":true,\"stream_options\":{\"include_usage\":true}," : "") +
        "\"messages\":[{\"role\":\"system\",\"content\":\"You are a concise assistant.\"}," +
        "{\"role\":\"user\",\"content\":\"Find me three quiet hotels in Porto, request " + _calls + ".\"}]}";

    private ByteArrayContent ResponsesBody() => Json(
        "{\"model\":\"gpt-4o-mini\",\"instructions\":\"You are a concise assistant.\",\"input\":\"Find me three quiet hotels in Porto, request " + _calls + ".\"}");

    private static ByteArrayContent Json(string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<int> Handle(string path, string json)
    {
        if (++_calls % ForgetEvery == 0)
        {
            _fake.Reset();
        }

        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = path;
        context.Request.ContentType = "application/json";
        context.Request.Headers.Authorization = "Bearer sk-bench";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
        using var answer = new MemoryStream();
        context.Response.Body = answer;
        await _fake.HandleAsync(context, path);
        return context.Response.StatusCode + (int)answer.Length;
    }

    private async Task<int> Send(string path, ByteArrayContent body)
    {
        if (++_calls % ForgetEvery == 0)
        {
            _fake.Reset();
        }

        using (body)
        {
            using var response = await _client.PostAsync(path, body);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            return (int)response.StatusCode + bytes.Length;
        }
    }
}
