using BenchmarkDotNet.Attributes;
using RelayKit.AspNetCore.Metering;

namespace RelayKit.Benchmarks;

/// <summary>Step 6: split a streamed answer into SSE events as it arrives, in network-sized chunks.</summary>
[MemoryDiagnoser]
public class SseSplitterBenchmarks
{
    private readonly Action<string?, string> _onEvent;
    private byte[] _stream = [];
    private int _events;

    public SseSplitterBenchmarks() => _onEvent = (_, _) => _events++;

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
}
