using System.Net.Http.Headers;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>Sits between the relay and the fake upstream and records each exchange into an <see cref="UpstreamRecorder"/>.</summary>
internal sealed class RecordingHandler(UpstreamRecorder recorder, string provider) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var exchange = new RecordedExchange
        {
            Provider = provider,
            Uri = request.RequestUri!,
            Headers = Flatten(request.Headers, request.Content?.Headers),
            Body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken),
        };
        recorder.Add(exchange);

        var response = await base.SendAsync(request, cancellationToken);
        exchange.Status = (int)response.StatusCode;
        exchange.ResponseHeaders = Flatten(response.Headers, response.Content.Headers);
        if (exchange.Status >= 400 || response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (exchange.Status >= 400)
            {
                exchange.ErrorBody = body;
            }
            else
            {
                exchange.JsonBody = body;
            }

            var copy = new ByteArrayContent(body);
            foreach (var header in response.Content.Headers)
            {
                copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Content = copy;
        }

        return response;
    }

    private static Dictionary<string, string> Flatten(HttpHeaders headers, HttpHeaders? more)
    {
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in headers.NonValidated.Concat(more?.NonValidated ?? default))
        {
            all[name] = string.Join(", ", values);
        }

        return all;
    }
}
