using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>
/// Plans bursts of requests from a seeded <see cref="Random"/> (kind, fault, key, instance) and sends them over real HTTP,
/// <see cref="Concurrency"/> at a time, recording what each caller saw.
/// </summary>
internal sealed class FaultBurst(Random random, IReadOnlyList<HttpClient> instances, IReadOnlyDictionary<string, string> secrets)
{
    public const int Concurrency = 32;

    public const int MaxTokens = 120;

    /// <summary>A caller that aborts before the headers gives up after this; the upstream answers it far later.</summary>
    private static readonly TimeSpan AbortBeforeHeadersAfter = TimeSpan.FromMilliseconds(150);

    /// <summary>No request of a burst may hang: this is a failure, not an abort.</summary>
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly string[] _keys = [.. secrets.Keys.Order(StringComparer.Ordinal)];

    /// <summary>About half the requests run clean; the others get one fault each that applies to their kind.</summary>
    public List<BurstCall> Plan(int burst, int count)
    {
        var calls = new List<BurstCall>(count);
        for (var i = 0; i < count; i++)
        {
            var kind = (CallKind)random.Next(4);
            var faults = FaultScript.For(kind);
            var fault = random.Next(2) == 0 ? FaultKind.None : faults[1 + random.Next(faults.Length - 1)];
            calls.Add(new BurstCall(burst, i, kind, fault, _keys[random.Next(_keys.Length)]) { Instance = random.Next(instances.Count) });
        }

        return calls;
    }

    /// <summary>
    /// Sends the calls; when <paramref name="outage"/> is given it starts once <paramref name="outageAfter"/> calls have
    /// ended, so it falls in the middle of the burst, and the burst ends when both the calls and the outage have.
    /// </summary>
    public async Task RunAsync(IReadOnlyList<BurstCall> calls, Func<Task>? outage = null, int outageAfter = 0)
    {
        var ended = 0;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var outageTask = outage is null ? Task.CompletedTask : Task.Run(async () =>
        {
            await start.Task;
            await outage();
        });
        if (outageAfter <= 0)
        {
            start.TrySetResult();
        }

        await Parallel.ForEachAsync(calls, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (call, _) =>
        {
            await SendAsync(call);
            if (Interlocked.Increment(ref ended) == outageAfter)
            {
                start.TrySetResult();
            }
        });
        start.TrySetResult();
        await outageTask;
    }

    /// <summary>An HTTP client for one relay instance that really drops a connection when its caller cancels.</summary>
    public static HttpClient ClientFor(Uri baseAddress) => new(new SocketsHttpHandler
    {
        // A response disposed half-read is not drained for reuse (that would read the stream to its end and turn
        // an abort into a complete delivery): the connection is closed, as a caller that went away closes it.
        MaxResponseDrainSize = 0,
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
    })
    {
        BaseAddress = baseAddress,
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public static string BodyOf(BurstCall call)
    {
        var model = call.Anthropic ? "claude-code-opus-4.8" : "gpt-5.5";
        var prompt = $"{call.Tag} {FaultScript.Mark(call.Fault)} Tell me a short story about a careful accountant.";
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = model,
            ["max_tokens"] = MaxTokens,
            ["stream"] = call.Streamed,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
        });
    }

    private async Task SendAsync(BurstCall call)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, call.Anthropic ? "v1/messages" : "v1/chat/completions")
        {
            Content = new StringContent(BodyOf(call), Encoding.UTF8, "application/json"),
        };
        var secret = secrets[call.Key];
        if (call.Anthropic)
        {
            request.Headers.Add("x-api-key", secret);
            request.Headers.Add("anthropic-version", "2023-06-01");
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        using var guard = new CancellationTokenSource(Guard);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);
        if (call.Fault == FaultKind.AbortBeforeHeaders)
        {
            abort.CancelAfter(AbortBeforeHeadersAfter);
        }

        try
        {
            using var response = await instances[call.Instance].SendAsync(request, HttpCompletionOption.ResponseHeadersRead, abort.Token);
            call.Status = (int)response.StatusCode;
            call.RequestId = Header(response, "x-request-id");
            call.RetryAfter = Header(response, "retry-after");
            if (Header(response, "x-relaykit-cost-charged") is { } charged)
            {
                call.ChargedHeader = decimal.Parse(charged, NumberStyles.Number, CultureInfo.InvariantCulture);
            }

            if (call.Streamed && call.Status == 200)
            {
                await ReadStreamAsync(call, response, abort);
            }
            else
            {
                call.Body = await response.Content.ReadAsStringAsync(abort.Token);
                call.Complete = call.Status == 200 && IsWholeAnswer(call);
            }
        }
        catch (OperationCanceledException) when (!guard.IsCancellationRequested && call.Fault is FaultKind.AbortBeforeHeaders or FaultKind.AbortAfterFirstEvent)
        {
            call.Aborted = true;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            call.ClientFailure = ex.GetType().Name + ": " + ex.Message + (ex.InnerException is { } inner ? " (" + inner.Message + ")" : "");
        }
    }

    private static async Task ReadStreamAsync(BurstCall call, HttpResponseMessage response, CancellationTokenSource abort)
    {
        var text = new StringBuilder();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(abort.Token), Encoding.UTF8);
        try
        {
            while (await reader.ReadLineAsync(abort.Token) is { } line)
            {
                text.Append(line).Append('\n');
                if (call.Fault == FaultKind.AbortAfterFirstEvent && line.StartsWith("data:", StringComparison.Ordinal))
                {
                    // The caller has its first event and hangs up: the next read is cancelled and the connection dropped.
                    await abort.CancelAsync();
                }
            }
        }
        finally
        {
            call.Body = text.ToString();
        }

        var body = call.Body;
        var terminated = call.Anthropic
            ? body.Contains("event: message_stop", StringComparison.Ordinal)
            : body.Contains("data: [DONE]", StringComparison.Ordinal);
        var failed = call.Anthropic
            ? body.Contains("event: error", StringComparison.Ordinal)
            : body.Contains("data: {\"error\"", StringComparison.Ordinal);
        call.Complete = terminated && !failed;
    }

    private static bool IsWholeAnswer(BurstCall call)
    {
        try
        {
            using var json = JsonDocument.Parse(call.Body);
            var root = json.RootElement;
            return call.Anthropic
                ? root.GetProperty("content")[0].GetProperty("text").GetString() == FaultScript.Answer
                : root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() == FaultScript.Answer;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
