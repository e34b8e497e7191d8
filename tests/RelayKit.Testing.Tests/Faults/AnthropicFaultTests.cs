using System.Globalization;
using System.Net;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models;
using Anthropic.Models.Messages;
using Microsoft.Extensions.Time.Testing;
using RelayKit.Testing.Tests.Protocols.Anthropic;

namespace RelayKit.Testing.Tests.Faults;

public sealed class AnthropicFaultTests
{
    private const string Body = """{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task Rate_limit_is_a_429_rate_limit_error_with_retry_after_headers_and_the_sdks_rate_limit_exception()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.RateLimited(TimeSpan.FromMilliseconds(1500)));
        using var http = fake.CreateClient();

        using var raw = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "v1/messages", Body));
        var e = await Assert.ThrowsAsync<AnthropicRateLimitException>(() => AnthropicSdk.Client(fake).Messages.Create(AnthropicSdk.Ask("hi")));

        Assert.Equal((HttpStatusCode)429, raw.StatusCode);
        Assert.Equal("2", raw.Headers.GetValues("retry-after").Single());
        Assert.Equal("1500", raw.Headers.GetValues("retry-after-ms").Single());
        AssertErrorShape(await raw.Content.ReadAsStringAsync(), "rate_limit_error", raw.Headers.GetValues("request-id").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, e.StatusCode);
        Assert.Equal(ErrorType.RateLimitError, e.Type!.Value());
        Assert.StartsWith("req_", e.RequestID, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(e.ApiMessage));
    }

    [Theory]
    [InlineData(500, "api_error", typeof(Anthropic5xxException))]
    [InlineData(503, "api_error", typeof(AnthropicServiceUnavailableException))]
    [InlineData(529, "overloaded_error", typeof(AnthropicOverloadedException))]
    public async Task Server_errors_have_the_anthropic_shape_and_the_sdks_own_exception(int status, string type, System.Type exception)
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(status == 529 ? FakeFault.Overloaded() : FakeFault.ServerError(status));
        using var http = fake.CreateClient();

        using var raw = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "v1/messages", Body));
        var e = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => AnthropicSdk.Client(fake).Messages.Create(AnthropicSdk.Ask("hi")));

        Assert.Equal(status, (int)raw.StatusCode);
        AssertErrorShape(await raw.Content.ReadAsStringAsync(), type, raw.Headers.GetValues("request-id").Single());
        Assert.IsType(exception, e);
        Assert.Equal(status, (int)e.StatusCode);
        Assert.Equal(type, e.Type!.Raw());
    }

    [Fact]
    public async Task Streamed_requests_get_the_same_error_status_before_any_event()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.Overloaded());

        var e = await Assert.ThrowsAsync<AnthropicOverloadedException>(async () =>
        {
            await foreach (var _ in AnthropicSdk.Client(fake).Messages.CreateStreaming(AnthropicSdk.Ask("hi")))
            {
            }
        });

        Assert.Equal(ErrorType.OverloadedError, e.Type!.Value());
        Assert.True(fake.Requests[0].IsStreaming);
    }

    [Fact]
    public async Task Rate_limit_then_success_is_retried_by_the_sdk_after_retry_after_ms()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().Times(1).WithFault(FakeFault.RateLimited(TimeSpan.FromMilliseconds(150)));
        fake.Setup().RespondWithText("Second time lucky.");
        var client = AnthropicSdk.Client(fake, maxRetries: 2);

        var message = await client.Messages.Create(AnthropicSdk.Ask("hi"));

        Assert.Equal("Second time lucky.", MessagesTests.Text(message));
        Assert.Equal(2, fake.Requests.Count);
        Assert.Equal([429, 200], fake.Requests.Select(r => r.StatusCode));
        Assert.Equal(["0", "1"], fake.Requests.Select(r => r.Headers["x-stainless-retry-count"]));

        // The SDK waited what retry-after-ms asked before trying again (it prefers it to retry-after,
        // which rounds up to whole seconds). No upper bound: a loaded CI machine may add any delay.
        Assert.True(fake.Requests[1].ReceivedAt - fake.Requests[0].ReceivedAt >= TimeSpan.FromMilliseconds(140));
    }

    [Fact]
    public async Task Overloaded_then_success_is_retried_by_the_sdk_for_a_streamed_request()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().Times(1).WithFault(FakeFault.Overloaded() with { RetryAfter = TimeSpan.FromMilliseconds(20) });
        fake.Setup().RespondWithText("Back online.");
        var client = AnthropicSdk.Client(fake, maxRetries: 2);

        var text = "";
        await foreach (var e in client.Messages.CreateStreaming(AnthropicSdk.Ask("hi")))
        {
            if (e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t))
            {
                text += t.Text;
            }
        }

        Assert.Equal("Back online.", text);
        Assert.Equal([529, 200], fake.Requests.Select(r => r.StatusCode));
    }

    [Fact]
    public async Task A_mid_stream_error_event_surfaces_as_the_sdks_sse_exception_after_the_events_before_it()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("This answer will not finish.").WithFault(FakeFault.StreamError(3));
        using var http = fake.CreateClient();

        var seen = new List<RawMessageStreamEvent>();
        var e = await Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var ev in AnthropicSdk.Client(fake).Messages.CreateStreaming(AnthropicSdk.Ask("hi")))
            {
                seen.Add(ev);
            }
        });
        using var raw = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "v1/messages", Body.Replace("{\"model\"", "{\"stream\":true,\"model\"", StringComparison.Ordinal)));
        var events = AnthropicSdk.ParseSse(await raw.Content.ReadAsStringAsync());

        // message_start, content_block_start, ping (the SDK skips pings), then the error.
        Assert.Equal(2, seen.Count);
        Assert.True(seen[0].TryPickStart(out _));
        Assert.Equal(ErrorType.OverloadedError, e.Type!.Value());
        Assert.Equal(["message_start", "content_block_start", "ping", "error"], events.Select(x => x.Event));
        Assert.Equal("error", events[^1].Data.GetProperty("type").GetString());
        Assert.Equal("overloaded_error", events[^1].Data.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_stream_cut_after_n_events_ends_without_message_delta_or_message_stop()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("Cut short, mid sentence.").WithFault(FakeFault.CutStreamAfter(4));

        var seen = new List<RawMessageStreamEvent>();
        await foreach (var ev in AnthropicSdk.Client(fake).Messages.CreateStreaming(AnthropicSdk.Ask("hi")))
        {
            seen.Add(ev);
        }

        // message_start, content_block_start, (ping), one text delta: then the body just ends.
        Assert.Equal(3, seen.Count);
        Assert.True(seen[2].TryPickContentBlockDelta(out _));
        Assert.DoesNotContain(seen, ev => ev.TryPickDelta(out _) || ev.TryPickStop(out _));
        await fake.Requests[0].Completion;
        Assert.False(fake.Requests[0].WasAborted);
    }

    [Fact]
    public async Task A_stream_without_usage_ends_with_message_stop_but_no_message_delta()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().RespondWithText("No usage for you.").WithFault(FakeFault.StreamWithoutUsage());

        var seen = new List<RawMessageStreamEvent>();
        var text = "";
        await foreach (var ev in AnthropicSdk.Client(fake).Messages.CreateStreaming(AnthropicSdk.Ask("hi")))
        {
            seen.Add(ev);
            if (ev.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t))
            {
                text += t.Text;
            }
        }

        Assert.Equal("No usage for you.", text);
        Assert.True(seen[^1].TryPickStop(out _));
        Assert.DoesNotContain(seen, ev => ev.TryPickDelta(out _));
    }

    [Fact]
    public async Task A_connection_reset_before_the_response_is_the_sdks_io_exception_in_memory_and_over_http()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.ConnectionReset());
        var baseAddress = await fake.StartAsync();

        var inMemory = await Assert.ThrowsAsync<AnthropicIOException>(() => AnthropicSdk.Client(fake).Messages.Create(AnthropicSdk.Ask("hi")));
        var overHttp = await Assert.ThrowsAsync<AnthropicIOException>(() => AnthropicSdk.Client(baseAddress).Messages.Create(AnthropicSdk.Ask("hi")));

        Assert.IsType<HttpRequestException>(inMemory.InnerException, exactMatch: false);
        Assert.IsType<HttpRequestException>(overHttp.InnerException, exactMatch: false);
        await Task.WhenAll(fake.Requests.Select(r => r.Completion));
        Assert.Equal(2, fake.Requests.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_reset_mid_stream_fails_the_sdks_enumeration_after_the_events_before_it(bool overHttp)
    {
        await using var fake = new FakeUpstream();
        var gate = new FakeStreamGate();

        // The gate holds the stream until the client has read the first events: a reset discards what
        // the client's socket received but the client had not read yet, as it does with real servers.
        fake.Setup().RespondWithText("Reset while streaming this.").WithFault(FakeFault.ConnectionReset(4)).HoldAfterEvents(4, gate);
        var client = overHttp ? AnthropicSdk.Client(await fake.StartAsync()) : AnthropicSdk.Client(fake);

        var seen = new List<RawMessageStreamEvent>();
        var e = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var ev in client.Messages.CreateStreaming(AnthropicSdk.Ask("hi")))
            {
                seen.Add(ev);
                if (seen.Count == 3)
                {
                    gate.Release();
                }
            }
        });

        // The SDK does not wrap errors while reading a stream: the transport's IOException reaches the caller.
        Assert.IsType<IOException>(e, exactMatch: false);
        Assert.Equal(3, seen.Count);
        Assert.DoesNotContain(seen, ev => ev.TryPickStop(out _));
    }

    [Fact]
    public async Task Rate_limit_headers_count_down_per_request_and_tokens_and_start_over_each_minute()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock, RequestsPerMinute = 50, TokensPerMinute = 10_000 });
        fake.Setup().RespondWithText("Twelve tokens or so of answer text here.");
        using var http = fake.CreateClient();
        var used = AnthropicSdk.CountTokens("hi") + AnthropicSdk.CountTokens("Twelve tokens or so of answer text here.");

        var first = await SendAsync(http);
        clock.Advance(TimeSpan.FromSeconds(10));
        var second = await SendAsync(http);
        clock.Advance(TimeSpan.FromSeconds(51));
        var third = await SendAsync(http);

        Assert.Equal("50", first["anthropic-ratelimit-requests-limit"]);
        Assert.Equal("10000", first["anthropic-ratelimit-tokens-limit"]);
        Assert.Equal(49, int.Parse(first["anthropic-ratelimit-requests-remaining"], CultureInfo.InvariantCulture));
        Assert.Equal(48, int.Parse(second["anthropic-ratelimit-requests-remaining"], CultureInfo.InvariantCulture));
        Assert.Equal(10_000 - used, int.Parse(first["anthropic-ratelimit-tokens-remaining"], CultureInfo.InvariantCulture));
        Assert.Equal(10_000 - 2 * used, int.Parse(second["anthropic-ratelimit-tokens-remaining"], CultureInfo.InvariantCulture));
        Assert.Equal("2025-01-01T12:01:00Z", first["anthropic-ratelimit-requests-reset"]);
        Assert.Equal(first["anthropic-ratelimit-requests-reset"], second["anthropic-ratelimit-tokens-reset"]);

        // A new minute of the fake's clock: full budget again, minus this request.
        Assert.Equal(49, int.Parse(third["anthropic-ratelimit-requests-remaining"], CultureInfo.InvariantCulture));
        Assert.Equal("2025-01-01T12:02:01Z", third["anthropic-ratelimit-requests-reset"]);
        Assert.DoesNotContain(first.Keys, k => k.StartsWith("x-ratelimit-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Faults_can_be_asked_for_with_the_x_fake_fault_header()
    {
        await using var fake = new FakeUpstream();
        using var http = fake.CreateClient();

        using var overloaded = AnthropicSdk.Raw(HttpMethod.Post, "v1/messages", Body);
        overloaded.Headers.Add("x-fake-fault", "overloaded");
        using var overloadedResponse = await http.SendAsync(overloaded);
        using var limited = AnthropicSdk.Raw(HttpMethod.Post, "v1/messages", Body);
        limited.Headers.Add("x-fake-fault", "rate-limit; retry-after=0.25");
        using var limitedResponse = await http.SendAsync(limited);

        Assert.Equal(529, (int)overloadedResponse.StatusCode);
        AssertErrorShape(await overloadedResponse.Content.ReadAsStringAsync(), "overloaded_error", overloadedResponse.Headers.GetValues("request-id").Single());
        Assert.Equal(429, (int)limitedResponse.StatusCode);
        Assert.Equal("250", limitedResponse.Headers.GetValues("retry-after-ms").Single());
        Assert.Equal("1", limitedResponse.Headers.GetValues("retry-after").Single());
    }

    [Fact]
    public async Task Latency_before_the_first_byte_follows_the_fakes_clock()
    {
        // The clock signals when the fake starts its delay: advancing it any earlier (say, as soon as the
        // request is recorded) would move time before the timer exists, and the answer would never come.
        var clock = new TimerSignallingTimeProvider();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock });
        fake.Setup().RespondWithText("Slow answer.").WithFault(FakeFault.Latency(TimeSpan.FromSeconds(30)));
        var client = AnthropicSdk.Client(fake);

        var pending = client.Messages.Create(AnthropicSdk.Ask("hi"));
        await clock.WaitStartedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.False(pending.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        var message = await pending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("Slow answer.", MessagesTests.Text(message));
    }

    internal static void AssertErrorShape(string body, string type, string requestId)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("error", root.GetProperty("type").GetString());
        var error = root.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(requestId, root.GetProperty("request_id").GetString());
        Assert.StartsWith("req_", requestId, StringComparison.Ordinal);
    }

    private static async Task<Dictionary<string, string>> SendAsync(HttpClient http)
    {
        using var response = await http.SendAsync(AnthropicSdk.Raw(HttpMethod.Post, "v1/messages", Body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
    }
}
