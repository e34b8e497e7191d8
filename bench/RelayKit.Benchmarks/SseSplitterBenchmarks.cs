using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.Benchmarks;

/// <summary>
/// Step 6: split a streamed answer into SSE events as it arrives, in network-sized chunks, and the whole
/// usage tap on top of it (every event parsed as JSON, delivered text kept, usage and model read).
/// </summary>
[MemoryDiagnoser]
public class SseSplitterBenchmarks
{
    private readonly SseEventHandler _onEvent;
    private readonly Func<string, int> _countTokens;
    private byte[] _stream = [];
    private int _events;

    public SseSplitterBenchmarks()
    {
        _onEvent = (_, _) => _events++;
        var (tokenizer, _) = new PromptTokenCounter().For("gpt-4o-mini");
        _countTokens = text => tokenizer.CountTokens(text);
    }

    /// <summary>Content deltas in the stream (a 200-token answer streams about 200 chunks).</summary>
    [Params(20, 200)]
    public int Chunks { get; set; }

    /// <summary>Bytes per read from the upstream socket.</summary>
    [Params(1024)]
    public int ReadSize { get; set; }

    [GlobalSetup]
    public void Setup() => _stream = BenchRequests.OpenAiStream(Chunks);

    [Benchmark(Description = "SseEventSplitter over a whole stream")]
    public int SplitStream()
    {
        _events = 0;
        var splitter = new SseEventSplitter();
        for (var offset = 0; offset < _stream.Length; offset += ReadSize)
        {
            splitter.Push(_stream.AsSpan(offset, Math.Min(ReadSize, _stream.Length - offset)), _onEvent);
        }

        splitter.Complete(_onEvent);
        return _events;
    }

    [Benchmark(Description = "UsageMeter (the SSE usage tap) over a whole stream")]
    public long MeterStream()
    {
        using var context = new RelayRequestContext(new DefaultHttpContext(), RelayOperation.ChatCompletions, WireFormat.OpenAI, "req_bench", DateTimeOffset.UnixEpoch);
        var meter = new UsageMeter(context, TimeProvider.System, _countTokens);
        using var response = new HttpResponseMessage { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/event-stream");
        meter.OnResponseStarted(response);
        for (var offset = 0; offset < _stream.Length; offset += ReadSize)
        {
            meter.OnBodyChunk(_stream.AsSpan(offset, Math.Min(ReadSize, _stream.Length - offset)));
        }

        meter.OnResponseEnded(true);
        return context.ReportedUsage?.OutputTokens ?? -1;
    }
}
