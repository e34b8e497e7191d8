using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using OpenAI.Responses;
using RelayKit.Testing.Tests.Protocols.OpenAI;

namespace RelayKit.Testing.Tests.Faults;

/// <summary>Scripted faults as the official OpenAI SDK sees them.</summary>
public sealed class OpenAIFaultTests
{
    private static readonly ClientRetryPolicy NoRetries = new(maxRetries: 0);

    [Fact]
    public async Task A_429_surfaces_as_ClientResultException_with_retry_after_headers_and_openai_error_shape()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.RateLimited(TimeSpan.FromMilliseconds(2500)));
        var chat = OpenAITestClients.InMemory(fake, NoRetries).GetChatClient("gpt-4o");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(429, error.Status);
        var response = error.GetRawResponse()!;
        Assert.True(response.Headers.TryGetValue("retry-after", out var retryAfter));
        Assert.Equal("3", retryAfter);
        Assert.True(response.Headers.TryGetValue("retry-after-ms", out var retryAfterMs));
        Assert.Equal("2500", retryAfterMs);
        var body = JsonNode.Parse(response.Content.ToString())!["error"]!;
        Assert.Equal("requests", (string)body["type"]!);
        Assert.Equal("rate_limit_exceeded", (string)body["code"]!);
        Assert.False(string.IsNullOrEmpty((string)body["message"]!));
        Assert.True(body.AsObject().ContainsKey("param"));
    }

    [Theory]
    [InlineData(500, 500, "server_error")]
    [InlineData(503, 503, "server_error")]
    [InlineData(529, 503, "server_error")]
    public async Task Server_errors_surface_with_their_status_on_chat_and_responses(int scripted, int expected, string type)
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(scripted == 529 ? FakeFault.Overloaded() : FakeFault.ServerError(scripted));
        var client = OpenAITestClients.InMemory(fake, NoRetries);

        var chatError = await Assert.ThrowsAsync<ClientResultException>(
            () => client.GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("hi")]));
        var responsesError = await Assert.ThrowsAsync<ClientResultException>(
            () => client.GetResponsesClient().CreateResponseAsync("gpt-4o", "hi"));

        foreach (var error in new[] { chatError, responsesError })
        {
            Assert.Equal(expected, error.Status);
            Assert.Equal(type, (string)JsonNode.Parse(error.GetRawResponse()!.Content.ToString())!["error"]!["type"]!);
        }

        Assert.All(fake.Requests, r => Assert.Equal(expected, r.StatusCode));
    }

    [Fact]
    public async Task A_scripted_429_then_success_is_retried_by_the_sdk_default_policy()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.RateLimited(TimeSpan.FromMilliseconds(100))).Times(1);
        fake.Setup().RespondWithText("Second time lucky.");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("Second time lucky.", completion.Content[0].Text);
        Assert.Equal([429, 200], fake.Requests.Select(r => r.StatusCode));
    }

    [Fact]
    public async Task The_sdk_waits_what_retry_after_asks_rather_than_its_own_backoff()
    {
        // System.ClientModel's ClientRetryPolicy waits max(its 0.8 s backoff, Retry-After); it reads the
        // whole-second Retry-After header only (not retry-after-ms). A recording policy shows the wait it chose.
        var retry = new RecordingRetryPolicy();
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.RateLimited(TimeSpan.FromSeconds(4))).Times(2);
        var chat = OpenAITestClients.InMemory(fake, retry).GetChatClient("gpt-4o");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal([TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(4)], retry.Waits);
        Assert.Equal(3, fake.Requests.Count);
    }

    [Fact]
    public async Task Latency_before_the_first_byte_follows_the_fake_clock()
    {
        var clock = new TimerSignallingTimeProvider();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock });
        fake.Setup().WithFault(FakeFault.Latency(TimeSpan.FromSeconds(30))).RespondWithText("Late but here.");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var call = chat.CompleteChatAsync([new UserChatMessage("hi")]);
        await clock.WaitStartedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.False(call.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        ChatCompletion completion = await call.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("Late but here.", completion.Content[0].Text);
    }

    [Fact]
    public async Task Latency_between_streamed_events_follows_the_fake_clock()
    {
        var clock = new TimerSignallingTimeProvider();
        var start = clock.GetUtcNow();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock });
        fake.Setup().WithFault(FakeFault.Latency(TimeSpan.Zero, TimeSpan.FromMilliseconds(250))).RespondWithText("one two three");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var updates = new List<StreamingChatCompletionUpdate>();
        var reading = Task.Run(async () =>
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
                updates.Add(update);
            }
        });
        var waits = 0;
        while (true)
        {
            var waitStarted = clock.WaitStartedAsync();
            if (await Task.WhenAny(waitStarted, reading).WaitAsync(TimeSpan.FromSeconds(10)) == reading)
            {
                break;
            }

            waits++;
            clock.Advance(TimeSpan.FromMilliseconds(250));
        }

        await reading;
        Assert.Equal("one two three", string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));
        Assert.Equal(updates.Count - 1, waits);
        Assert.Equal(TimeSpan.FromMilliseconds(250) * waits, clock.GetUtcNow() - start);
    }

    [Fact]
    public async Task A_stream_cut_after_n_events_ends_without_finish_reason_usage_or_DONE()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.CutStreamAfter(3)).RespondWithText("This answer will never be finished by the fake.");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            updates.Add(update);
        }

        Assert.Equal(3, updates.Count);
        Assert.All(updates, u => Assert.Null(u.FinishReason));
        Assert.All(updates, u => Assert.Null(u.Usage));

        using var raw = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");
        var data = OpenAITestClients.SseData(await raw.Content.ReadAsStringAsync());
        Assert.Equal(3, data.Count);
        Assert.DoesNotContain("[DONE]", data);
    }

    [Fact]
    public async Task A_stream_without_usage_finishes_normally_but_reports_no_usage()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.StreamWithoutUsage()).RespondWithText("No usage for you.");
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            updates.Add(update);
        }

        Assert.Equal("No usage for you.", string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        Assert.All(updates, u => Assert.Null(u.Usage));

        using var raw = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");
        var data = OpenAITestClients.SseData(await raw.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", data[^1]);
        Assert.DoesNotContain(data.SkipLast(1), d => JsonNode.Parse(d)!["usage"] is JsonObject);
    }

    [Fact]
    public async Task A_mid_stream_error_chunk_follows_n_chunks_and_ends_the_stream()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.StreamError(2)).RespondWithText("This will break after two chunks.");

        using var raw = await OpenAITestClients.PostJsonAsync(fake.CreateClient(), "/v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var data = OpenAITestClients.SseData(await raw.Content.ReadAsStringAsync());

        Assert.Equal(200, (int)raw.StatusCode);
        Assert.Equal(3, data.Count);
        Assert.All(data.Take(2), d => Assert.Equal("chat.completion.chunk", (string)JsonNode.Parse(d)!["object"]!));
        var error = JsonNode.Parse(data[2])!["error"]!;
        Assert.Equal("server_error", (string)error["type"]!);
        Assert.False(string.IsNullOrEmpty((string)error["message"]!));

        // The .NET SDK does not throw on an error chunk (unlike the Python one); what it sees is a stream
        // that stops without a finish reason after an update that carries no completion id.
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");
        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            updates.Add(update);
        }

        Assert.Equal(3, updates.Count);
        Assert.Null(updates[2].CompletionId);
        Assert.All(updates, u => Assert.Null(u.FinishReason));
    }

    [Fact]
    public async Task A_mid_stream_error_on_the_responses_api_is_a_typed_error_event_with_the_next_sequence_number()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.StreamError(4, "server_error")).RespondWithText("Broken later.");
        var client = OpenAITestClients.InMemory(fake).GetResponsesClient();
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("hi")]) { StreamingEnabled = true };

        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in client.CreateResponseStreamingAsync(options))
        {
            updates.Add(update);
        }

        Assert.Equal(5, updates.Count);
        var error = Assert.IsType<StreamingResponseErrorUpdate>(updates[4]);
        Assert.Equal("server_error", error.Code);
        Assert.Equal(Enumerable.Range(0, 5), updates.Select(u => u.SequenceNumber));
    }

    [Fact]
    public async Task A_connection_reset_before_the_response_surfaces_as_a_ClientResultException_over_real_http()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.ConnectionReset()).Times(1);
        var chat = (await OpenAITestClients.OverHttpAsync(fake, NoRetries)).GetChatClient("gpt-4o");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(0, error.Status);
        Assert.Null(error.GetRawResponse());

        // The rule answered once; the next call succeeds on the same server.
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_reset_mid_stream_fails_the_sdk_enumeration(bool overHttp)
    {
        await using var fake = new FakeUpstream();
        fake.Setup().WithFault(FakeFault.ConnectionReset(2)).RespondWithText("Cut by a reset in the middle of it all.");
        var client = overHttp ? await OpenAITestClients.OverHttpAsync(fake, NoRetries) : OpenAITestClients.InMemory(fake, NoRetries);
        var chat = client.GetChatClient("gpt-4o");

        var updates = new List<StreamingChatCompletionUpdate>();
        var error = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
                updates.Add(update);
            }
        });

        Assert.True(Chain(error).Any(e => e is IOException), $"expected an I/O failure, got {error}");
        Assert.All(updates, u => Assert.Null(u.FinishReason));

        // The fake sent two events before the reset, but a reset discards what the client had not read
        // yet (the kernel drops a socket's unread bytes; TestServer fails the reader at once), so a client
        // sees at most those two.
        Assert.InRange(updates.Count, 0, 2);        await fake.Requests.Single().Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Rate_limit_headers_count_down_across_requests_and_reset_with_the_window()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { TimeProvider = clock, RequestsPerMinute = 100, TokensPerMinute = 10_000 });
        var chat = OpenAITestClients.InMemory(fake).GetChatClient("gpt-4o");

        var expectedTokens = 10_000;
        for (var i = 1; i <= 3; i++)
        {
            var result = await chat.CompleteChatAsync([new UserChatMessage($"question number {i}")]);
            var headers = result.GetRawResponse().Headers;
            expectedTokens -= result.Value.Usage.TotalTokenCount;
            Assert.Equal("100", Header(headers, "x-ratelimit-limit-requests"));
            Assert.Equal("10000", Header(headers, "x-ratelimit-limit-tokens"));
            Assert.Equal((100 - i).ToString(System.Globalization.CultureInfo.InvariantCulture), Header(headers, "x-ratelimit-remaining-requests"));
            Assert.Equal(expectedTokens.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(headers, "x-ratelimit-remaining-tokens"));
            Assert.Equal(i == 1 ? "1m0s" : "50s", Header(headers, "x-ratelimit-reset-requests"));
            clock.Advance(TimeSpan.FromSeconds(i == 1 ? 10 : 0));
        }

        clock.Advance(TimeSpan.FromSeconds(51));
        var afterReset = await chat.CompleteChatAsync([new UserChatMessage("question number 1")]);
        Assert.Equal("99", Header(afterReset.GetRawResponse().Headers, "x-ratelimit-remaining-requests"));
    }

    [Theory]
    [InlineData("rate-limit; retry-after=2", 429, "2")]
    [InlineData("server-error; status=503", 503, null)]
    [InlineData("overloaded", 503, null)]
    public async Task Plain_http_clients_ask_for_faults_with_the_x_fake_fault_header(string spec, int status, string? retryAfter)
    {
        await using var fake = new FakeUpstream();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-fake-fault", spec);

        using var response = await fake.CreateClient().SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(retryAfter, response.Headers.TryGetValues("retry-after", out var values) ? values.Single() : null);
        Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"]);
    }

    [Theory]
    [InlineData("rate-limit; retry-after=1; retry-after=2", "name=value pair given once")]
    [InlineData("rate-limit; retry-after=NaN", "retry-after must be a number of seconds")]
    [InlineData("rate-limit; retry-after=1e20", "retry-after must be a number of seconds")]
    [InlineData("rate-limit; retry-after=-3", "retry-after must be a number of seconds")]
    [InlineData("error; status=42", "status must be a whole number from 400 to 599")]
    [InlineData("error; status=200", "status must be a whole number from 400 to 599")]
    [InlineData("error; status=abc", "status must be a whole number from 400 to 599")]
    [InlineData("server-error; status=404", "status must be a whole number from 500 to 599")]
    [InlineData("latency; first-byte-ms=99999999999", "first-byte-ms must be a whole number")]
    [InlineData("cut-stream; after=x", "after must be a whole number")]
    [InlineData("cut-stream; after", "name=value pair")]
    public async Task A_fault_header_the_fake_cannot_follow_is_a_400_naming_the_value_and_is_still_recorded(string spec, string message)
    {
        await using var fake = new FakeUpstream();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-fake-fault", spec);

        using var response = await fake.CreateClient().SendAsync(request);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains(message, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"], StringComparison.Ordinal);
        Assert.Equal(400, fake.Requests.Single().StatusCode);
    }

    private static IEnumerable<Exception> Chain(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            yield return error;
        }
    }

    private static string? Header(PipelineResponseHeaders headers, string name) => headers.TryGetValue(name, out var value) ? value : null;

    private sealed class RecordingRetryPolicy() : ClientRetryPolicy(maxRetries: 3)
    {
        public List<TimeSpan> Waits { get; } = [];

        protected override Task WaitAsync(TimeSpan time, CancellationToken cancellationToken)
        {
            Waits.Add(time);
            return Task.CompletedTask;
        }
    }
}
