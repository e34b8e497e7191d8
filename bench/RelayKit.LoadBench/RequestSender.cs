using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace RelayKit.LoadBench;

/// <summary>
/// Sends the bench's one chat request and reads the whole answer, timing the first body bytes
/// (what a streaming client waits for) and the end. Every target gets its own connection pool.
/// </summary>
internal sealed class RequestSender : IDisposable
{
    private static readonly byte[] JsonBody = Encoding.UTF8.GetBytes(
        $$"""{"model":"{{BenchServers.Model}}","max_tokens":128,"messages":[{"role":"user","content":"Three quiet hotels near the old town of Porto?"}]}""");

    private static readonly byte[] StreamBody = Encoding.UTF8.GetBytes(
        $$"""{"model":"{{BenchServers.Model}}","max_tokens":128,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Three quiet hotels near the old town of Porto?"}]}""");

    /// <summary>The bench's request body: the JSON one or the streamed one.</summary>
    public static byte[] BodyOf(bool stream) => stream ? StreamBody : JsonBody;

    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpMessageInvoker _client;

    public RequestSender()
    {
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        });
    }

    /// <summary>One request; latency and time to first byte in <see cref="Stopwatch"/> ticks, measured from the send.</summary>
    public async Task<Sample> SendAsync(Target target, bool stream, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target.ChatCompletions)
            {
                Content = new ByteArrayContent(stream ? StreamBody : JsonBody),
                Version = HttpVersion.Version11,
            };
            request.Content.Headers.ContentType = Json;
            request.Headers.TryAddWithoutValidation("Authorization", target.Authorization);
            using var response = await _client.SendAsync(request, cancellationToken);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var read = await body.ReadAsync(buffer, cancellationToken);
            var firstByte = Stopwatch.GetTimestamp() - started;
            var total = (long)read;
            while (read > 0)
            {
                read = await body.ReadAsync(buffer, cancellationToken);
                total += read;
            }

            var ok = response.IsSuccessStatusCode && total > 0;
            return new Sample(ok, Stopwatch.GetTimestamp() - started, firstByte, ok ? null : $"{(int)response.StatusCode}");
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException)
        {
            return new Sample(false, Stopwatch.GetTimestamp() - started, 0, exception.GetType().Name);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose() => _client.Dispose();
}
