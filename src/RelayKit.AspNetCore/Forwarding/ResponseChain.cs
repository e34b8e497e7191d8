using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Metering;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Translation.Relay;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// What happens to the upstream's answer on its way to the caller, for one attempt, built in one place
/// (<see cref="For"/>) and run by the forwarder's copy loop. A stream is split into events once (one
/// <see cref="SseEventSplitter"/>), each event's data parsed at most once (<see cref="ResponseEvent"/>), and every event
/// handed, in this order, to:
/// <list type="number">
/// <item>the meter (<see cref="UsageMeter"/>): usage, the model that answered, the text delivered on a cut stream; the
/// rate limits and the budget settle from what it read;</item>
/// <item>the end watch (<see cref="StreamEndWatch"/>): whether the upstream sent its end event;</item>
/// <item>then either the translator (<see cref="TranslatingResponseTransform"/>), which writes the caller's frames in
/// the other format, or the usage-chunk stripper (<see cref="UsageChunkStripper"/>) and the caller-model rename
/// (<see cref="CallerModelNameTransform"/>), which pass the event's own bytes on, renamed or left out.</item>
/// </list>
/// A whole (JSON) answer goes to the meter, which reads it once at its end, and to the translator or the rename.
/// </summary>
internal sealed class ResponseChain : ISseBlockSink, IDisposable
{
    private readonly UsageMeter? _meter;
    private readonly TranslatingResponseTransform? _translator;
    private readonly CallerModelNameTransform? _rename;
    private readonly bool _strip;
    private readonly ArrayPoolBufferWriter<byte> _output = new(4096);
    private SseEventSplitter? _splitter;
    private bool _streamed;
    private bool _watching;
    private bool _finished;
    private bool _meterOnly;
    private Exception? _translationFault;

    /// <summary>A chain of the given stages (null: not part of it).</summary>
    internal ResponseChain(UsageMeter? meter, TranslatingResponseTransform? translator, CallerModelNameTransform? rename, bool strip)
    {
        _meter = meter;
        _translator = translator;
        _rename = rename;
        _strip = strip && translator is null;
    }

    /// <summary>The end watch, for a successful event stream of a streamed operation (<see cref="StreamEndWatch.For"/>).</summary>
    public StreamEndWatch? Watch { get; private set; }

    /// <summary>Whether the caller's bytes differ from the upstream's (then Content-Length goes).</summary>
    public bool Rewrites => _translator is not null || _rename is not null || _strip;

    /// <summary>
    /// Whether the event stream the caller received reached its normal end: the translator's verdict for a translated
    /// stream, else the upstream's end event. Null for an answer that is not a watched stream.
    /// </summary>
    public bool? StreamCompleted => _translator?.StreamCompleted ?? Watch?.Ended;

    /// <summary>Whether the translator writes the caller's stream (and so its error event when the upstream's is cut).</summary>
    public bool Translates => _translator?.StreamCompleted is not null;

    /// <summary>
    /// The chain for the answer <paramref name="candidate"/> gave: the request's meter (set at admission), the translator
    /// when this attempt was translated, else the caller-model rename (not for token counting) and the usage-chunk
    /// stripper when the relay asked for usage the caller did not.
    /// </summary>
    public static ResponseChain For(RelayRequestContext context, UpstreamCandidate candidate)
    {
        var translator = context.Translation is { } translation
            ? new TranslatingResponseTransform(context.Operation, translation.CallerBody, translation.CallerModel, context.StartedAt, context.Meter)
            : null;

        // A translated answer names the caller's model already; a same-format one is given it here.
        var rename = translator is null && context.Operation != RelayOperation.CountTokens
            ? new CallerModelNameTransform(candidate.RequestedAs ?? context.Fields!.Model)
            : null;
        return new ResponseChain(context.Meter, translator, rename, strip: translator is null && context.StreamUsageOptions is not null);
    }

    /// <summary>The upstream answered: each stage sees its status and headers; the translator may set the caller's.</summary>
    public void Start(RelayOperation upstream, HttpResponseMessage response, HttpResponse callerResponse)
    {
        _streamed = string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
        _meter?.OnResponseStarted(response);
        _translator?.Start(response, callerResponse);
        _rename?.Start(response);
        Watch = StreamEndWatch.For(upstream, response);
        _watching = Watch is not null;
        if (_streamed && (_meter is not null || Watch is not null || Rewrites))
        {
            _splitter = new SseEventSplitter();
        }
    }

    /// <summary>
    /// One chunk of the upstream's body through every stage; returns what the caller receives for it, valid until the
    /// next call (the chunk itself when no stage rewrites).
    /// </summary>
    public ReadOnlyMemory<byte> Push(ReadOnlyMemory<byte> chunk)
    {
        _output.Clear();
        var span = chunk.Span;
        _meter?.OnChunk(span);
        if (_splitter is not null)
        {
            _splitter.Push(span, this);
            ThrowTranslationFault();
        }
        else if (_translator is not null && !_translator.Streamed)
        {
            _translator.Take(span);
        }
        else if (_rename is not null && !_streamed)
        {
            _rename.WriteJson(span, _output);
        }
        else
        {
            return chunk;
        }

        return Rewrites ? _output.WrittenMemory : chunk;
    }

    /// <summary>
    /// The upstream's body ended, cleanly (<paramref name="clean"/>) or cut: a last event without its blank line still goes
    /// through every stage (the end watch only on a clean end, as before), then the translator's end or whole answer.
    /// Returns what the caller receives for it. Only the first call does anything.
    /// </summary>
    public ReadOnlyMemory<byte> Finish(bool clean)
    {
        _output.Clear();
        if (_finished)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        _finished = true;
        _watching &= clean;
        _splitter?.Complete(this);
        ThrowTranslationFault();
        if (_translator is not null)
        {
            _translator.Complete(_output);
        }
        else if (_rename is not null && !_streamed)
        {
            _rename.CompleteJson(_output);
        }

        return _output.WrittenMemory;
    }

    /// <summary>The response is over (<paramref name="completed"/>: the caller got all of it): the meter settles its reading.</summary>
    /// <remarks>
    /// When the body was not finished (the caller's connection was cut instead), a last event without its blank line still
    /// reaches the meter, and only the meter: it may carry usage the upstream bills.
    /// </remarks>
    public void End(bool completed)
    {
        if (!_finished)
        {
            _finished = true;
            _meterOnly = true;
            _splitter?.Complete(this);
        }

        _meter?.OnResponseEnded(completed);
    }

    public void Dispose()
    {
        _splitter?.Dispose();
        _rename?.Dispose();
        _output.Dispose();
    }

    void ISseBlockSink.OnBlock(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data, bool isEvent)
    {
        var item = new ResponseEvent(raw, name, data, isEvent);
        try
        {
            _meter?.OnEvent(ref item);
            if (_meterOnly)
            {
                return;
            }

            if (_watching)
            {
                Watch!.Observe(ref item);
            }

            if (_translator is not null)
            {
                Translate(ref item);
            }
            else if (_strip && UsageChunkStripper.Drops(ref item))
            {
                // The usage chunk the relay asked for on the caller's behalf: metered above, not passed on.
            }
            else if (_rename is not null)
            {
                _rename.WriteEvent(ref item, _output);
            }
            else if (_strip)
            {
                _output.Write(raw);
            }
        }
        finally
        {
            item.Dispose();
        }
    }

    private void Translate(ref ResponseEvent item)
    {
        if (_translationFault is not null)
        {
            return;
        }

        if (!_translator!.Streamed)
        {
            // An error body sent as an event stream: read whole, like any error.
            _translator.Take(item.Raw);
            return;
        }

        try
        {
            _translator.WriteEvent(ref item, _output);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or Translation.TranslationException)
        {
            // Thrown once the chunk's other events are metered: a bad event must not hide a later one's usage.
            _translationFault = ex;
        }
    }

    private void ThrowTranslationFault()
    {
        if (_translationFault is { } fault)
        {
            _translationFault = null;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fault);
        }
    }
}
