using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// Serves a recorded response in the form the request asks for: a recorded stream event by event
/// with its recorded spacing (scaled by the cassette's speed, on the fake's clock), a recorded body
/// whole, a stream assembled into a body for a non-streamed request, or a body streamed for a streamed one.
/// </summary>
internal sealed class CassetteReplayer(TimeProvider time, CassetteSpeed speed)
{
    private static readonly HashSet<string> SkippedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Type", "Content-Length", "Content-Encoding",
    };

    public async Task ReplayAsync(HttpContext context, FakeRequest request, RecordedResponse recorded)
    {
        var cancellation = context.RequestAborted;
        var events = recorded.Events;
        JsonNode? body = recorded.Body;
        var firstByteMs = recorded.HeadersMs;
        if (recorded.IsSuccess && recorded.IsStream && !request.IsStreaming
            && StreamAssembler.Assemble(request.Endpoint, recorded.Events!) is { } assembled)
        {
            // The whole body arrives when the recorded stream ended.
            firstByteMs = recorded.Events!.Count > 0 ? recorded.Events[^1].OffsetMs : recorded.HeadersMs;
            (events, body) = (null, assembled);
        }
        else if (recorded.IsSuccess && !recorded.IsStream && request.IsStreaming && recorded.Body is JsonObject whole
            && StreamRenderer.Render(request, whole) is { } rendered)
        {
            events = [.. rendered.Select(e => e with { OffsetMs = recorded.HeadersMs })];
        }

        await DelayAsync(firstByteMs, cancellation);
        var response = context.Response;
        response.StatusCode = recorded.Status;
        foreach (var (name, value) in recorded.Headers)
        {
            if (!SkippedHeaders.Contains(name))
            {
                response.Headers[name] = value;
            }
        }

        if (events is null)
        {
            response.ContentType = body is not null ? "application/json" : recorded.Headers.GetValueOrDefault("content-type", "text/plain");
            await response.WriteAsync(body?.ToJsonString(CassetteJson.Compact) ?? recorded.BodyText ?? "", cancellation);
            return;
        }

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(cancellation);
        var previous = firstByteMs;
        foreach (var sseEvent in events)
        {
            await DelayAsync(sseEvent.OffsetMs - previous, cancellation);
            previous = Math.Max(previous, sseEvent.OffsetMs);
            await response.WriteAsync(sseEvent.Format(), cancellation);
            await response.Body.FlushAsync(cancellation);
        }
    }

    private Task DelayAsync(double recordedMs, CancellationToken cancellation)
    {
        var wait = speed.Scale(TimeSpan.FromMilliseconds(recordedMs));
        return wait > TimeSpan.Zero ? Task.Delay(wait, time, cancellation) : Task.CompletedTask;
    }
}
