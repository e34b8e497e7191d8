using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Hosting;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>
/// The app's own clients' transport when the relay is on: runs the relay's request path for the request
/// in this process, on a synthetic <see cref="HttpContext"/>, with the app's relay key, and hands the
/// response back as it is written (streams arrive event by event). No socket, no loopback port.
/// </summary>
internal sealed class InProcessRelayHandler(IServiceProvider services, AppRelayKey key) : HttpMessageHandler
{
    /// <summary>The base address the app's clients are given; only its path matters.</summary>
    public static readonly Uri BaseAddress = new("http://relay.in-process/");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri?.AbsolutePath ?? "/";
        var operation = OperationFor(request.Method, path);
        if (operation is null)
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound) { RequestMessage = request };
        }

        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var aborted = new CancellationTokenSource();
        var feature = new InProcessResponseFeature(aborted);
        var http = CreateContext(request, path, body, feature, aborted.Token);
        var scope = services.CreateAsyncScope();
        http.RequestServices = scope.ServiceProvider;

        // Cancelling the send before the answer started is the caller going away.
        var registration = cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), aborted);
        var relay = scope.ServiceProvider.GetRequiredService<RelayRequestHandler>();
        var run = RunAsync(relay, http, operation, feature, scope, aborted);
        await Task.WhenAny(feature.Started, run);
        await registration.DisposeAsync();
        cancellationToken.ThrowIfCancellationRequested();

        var response = new HttpResponseMessage((HttpStatusCode)feature.StatusCode)
        {
            RequestMessage = request,
            Content = new StreamContent(new InProcessResponseContentStream(feature)),
        };
        foreach (var (name, values) in feature.Headers)
        {
            if (!response.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                response.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        return response;
    }

    private static async Task RunAsync(RelayRequestHandler relay, HttpContext http, RelayOperation operation, InProcessResponseFeature feature, AsyncServiceScope scope, CancellationTokenSource aborted)
    {
        try
        {
            await relay.HandleAsync(http, operation);
            await feature.CompleteAsync();
        }
        catch (Exception ex)
        {
            await feature.FailAsync(ex);
        }
        finally
        {
            await scope.DisposeAsync();
            aborted.Dispose();
        }
    }

    private DefaultHttpContext CreateContext(HttpRequestMessage request, string path, byte[] body, InProcessResponseFeature feature, CancellationToken aborted)
    {
        var http = new DefaultHttpContext();
        http.Features.Set<IHttpResponseFeature>(feature);
        http.Features.Set<IHttpResponseBodyFeature>(feature);
        http.RequestAborted = aborted;
        var incoming = http.Request;
        incoming.Method = request.Method.Method;
        incoming.Scheme = "http";
        incoming.Host = new HostString(BaseAddress.Host);
        incoming.Path = path;
        incoming.QueryString = new QueryString(request.RequestUri?.Query);
        foreach (var header in request.Headers)
        {
            incoming.Headers[header.Key] = header.Value.ToArray();
        }

        if (request.Content is not null)
        {
            foreach (var header in request.Content.Headers)
            {
                incoming.Headers[header.Key] = header.Value.ToArray();
            }
        }

        // Whatever key the SDK was given, the app's calls go in under the app's own relay key.
        incoming.Headers.Remove("x-api-key");
        incoming.Headers.Authorization = "Bearer " + key.Secret;
        incoming.ContentLength = body.Length;
        incoming.Body = new MemoryStream(body, writable: false);
        return http;
    }

    private static RelayOperation? OperationFor(HttpMethod method, string path)
    {
        if (method == HttpMethod.Get)
        {
            return path.EndsWith("/v1/models", StringComparison.Ordinal) || path.Contains("/v1/models/", StringComparison.Ordinal) ? RelayOperation.ListModels : null;
        }

        foreach (var operation in RelayOperation.Relayed)
        {
            if (path.EndsWith(operation.CallerPath, StringComparison.Ordinal))
            {
                return operation;
            }
        }

        return null;
    }
}
