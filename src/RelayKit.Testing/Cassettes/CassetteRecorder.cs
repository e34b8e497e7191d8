using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace RelayKit.Testing.Cassettes;

/// <summary>
/// Forwards a request to the real upstream and streams the answer through to the caller while
/// recording it: status, headers and the time to them, then each server-sent event with its offset
/// from the start of the request on the fake's clock, or the whole body when it is not a stream.
/// </summary>
internal sealed class CassetteRecorder : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly Uri _upstream;
    private readonly TimeProvider _time;
    private readonly CassetteRedactor _redactor;

    public CassetteRecorder(Uri upstream, HttpMessageHandler? handler, TimeProvider time, CassetteRedactor redactor)
    {
        _upstream = upstream;
        _time = time;
        _redactor = redactor;

        // As YARP does: no decompression (bytes are recorded as sent), no redirects, no cookies, and
        // HttpMessageInvoker so the answer streams instead of being buffered.
        _invoker = handler is null
            ? new HttpMessageInvoker(new SocketsHttpHandler
            {
                AutomaticDecompression = System.Net.DecompressionMethods.None,
                AllowAutoRedirect = false,
                UseCookies = false,
                ConnectTimeout = TimeSpan.FromSeconds(30),
            }, disposeHandler: true)
            : new HttpMessageInvoker(handler, disposeHandler: false);
    }

    public Uri Target(string path, string query)
    {
        var basePath = _upstream.AbsolutePath.TrimEnd('/');

        // A base URL given with its API version (https://api.openai.com/v1) must not double it.
        if (basePath.EndsWith("/v1", StringComparison.OrdinalIgnoreCase) && path.StartsWith("/v1/", StringComparison.OrdinalIgnoreCase))
        {
            basePath = basePath[..^3];
        }

        return new UriBuilder(_upstream) { Path = basePath + path, Query = query.TrimStart('?') }.Uri;
    }

    /// <summary>Forwards and records; <see langword="null"/> when the upstream could not be reached (the caller then answers 502).</summary>
    public async Task<RecordedResponse?> ForwardAsync(HttpContext context, FakeRequest request, string query)
    {
        var cancellation = context.RequestAborted;
        using var outgoing = new HttpRequestMessage(new HttpMethod(request.Method), Target(request.Path, query));
        if (request.RawBody.Length > 0)
        {
            outgoing.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(request.RawBody));
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            // The upstream must answer uncompressed so the recording is readable text.
            if (CassetteRedactor.IsTransportHeader(name) || name.Equals("Accept-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!outgoing.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                outgoing.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        var started = _time.GetTimestamp();
        HttpResponseMessage upstream;
        try
        {
            upstream = await _invoker.SendAsync(outgoing, cancellation);
        }
        catch (HttpRequestException e)
        {
            context.Items[typeof(CassetteRecorder)] = e.Message;
            return null;
        }
        catch (OperationCanceledException e) when (!cancellation.IsCancellationRequested)
        {
            // Not the caller going away: HttpClient's timeouts (a connect timeout included) end this way.
            context.Items[typeof(CassetteRecorder)] = e.InnerException is TimeoutException timeout ? timeout.Message : "the request timed out";
            return null;
        }

        using (upstream)
        {
            var headersMs = ElapsedMs(started);
            var response = context.Response;
            response.StatusCode = (int)upstream.StatusCode;
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var (name, values) in upstream.Headers.Concat(upstream.Content.Headers))
            {
                if (CassetteRedactor.IsTransportHeader(name))
                {
                    continue;
                }

                response.Headers[name] = values.ToArray();
                headers.Add(KeyValuePair.Create(name, string.Join(", ", values)));
            }

            var recordedHeaders = _redactor.Headers(headers);
            var isStream = upstream.Content.Headers.ContentType?.MediaType?.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;
            if (!isStream)
            {
                var bytes = await upstream.Content.ReadAsByteArrayAsync(cancellation);
                await response.Body.WriteAsync(bytes, cancellation);
                var text = Encoding.UTF8.GetString(bytes);
                var json = CassetteJson.TryParseStructured(text);
                return new RecordedResponse(response.StatusCode, recordedHeaders, headersMs, _redactor.Body(json), json is null ? text : null, null);
            }

            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await response.StartAsync(cancellation);
            var events = await PumpEventsAsync(upstream, response, started, cancellation);
            return new RecordedResponse(response.StatusCode, recordedHeaders, headersMs, null, null, events);
        }
    }

    public void Dispose() => _invoker.Dispose();

    private async Task<List<RecordedEvent>> PumpEventsAsync(HttpResponseMessage upstream, HttpResponse response, long started, CancellationToken cancellation)
    {
        var events = new List<RecordedEvent>();
        await using var stream = await upstream.Content.ReadAsStreamAsync(cancellation);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? name = null;
        string? id = null;
        var data = new List<string>();
        var pending = false;
        while (await reader.ReadLineAsync(cancellation) is { } line)
        {
            if (line.Length == 0)
            {
                if (pending)
                {
                    var offset = ElapsedMs(started);
                    var text = string.Join('\n', data);
                    var wire = new RecordedEvent(offset, name, id, null, text);
                    await response.WriteAsync(wire.Format(), cancellation);
                    await response.Body.FlushAsync(cancellation);
                    var json = CassetteJson.TryParseStructured(text);
                    events.Add(new RecordedEvent(offset, name, id, _redactor.Body(json), json is null ? text : null));
                }

                (name, id, pending) = (null, null, false);
                data.Clear();
                continue;
            }

            if (line.StartsWith(':'))
            {
                // A comment (keep-alive): passed on so the caller's idle timers see traffic, not recorded.
                await response.WriteAsync(line + "\n", cancellation);
                await response.Body.FlushAsync(cancellation);
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "event":
                    name = value;
                    pending = true;
                    break;
                case "data":
                    data.Add(value);
                    pending = true;
                    break;
                case "id":
                    id = value;
                    break;
            }
        }

        if (pending)
        {
            var offset = ElapsedMs(started);
            var text = string.Join('\n', data);
            await response.WriteAsync(new RecordedEvent(offset, name, id, null, text).Format(), cancellation);
            var json = CassetteJson.TryParseStructured(text);
            events.Add(new RecordedEvent(offset, name, id, _redactor.Body(json), json is null ? text : null));
        }

        return events;
    }

    // Whole milliseconds: Task.Delay waits in whole milliseconds anyway, and short numbers keep cassettes readable.
    private double ElapsedMs(long started) => Math.Round(_time.GetElapsedTime(started).TotalMilliseconds);
}
