using System.Text;
using System.Text.Json.Nodes;

namespace RelayKit.Testing.Tests.Cassettes;

/// <summary>Plain-HTTP helpers for cassette tests: requests as a raw client sends them, and a server-sent-event reader.</summary>
internal static class CassetteHttp
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static JsonObject Chat(string question, bool stream = false, string model = "gpt-4o-mini")
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = question }),
        };
        if (stream)
        {
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        return body;
    }

    public static JsonObject Messages(string question, bool stream = false, string model = "claude-sonnet-4-5")
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = 256,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = question }),
        };
        if (stream)
        {
            body["stream"] = true;
        }

        return body;
    }

    public static HttpRequestMessage Post(string path, JsonNode body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    public static async Task<(int Status, JsonNode? Body, string Text)> SendJsonAsync(HttpClient client, HttpRequestMessage request)
    {
        using var response = await client.SendAsync(request).WaitAsync(Deadline);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? body = null;
        try
        {
            body = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return ((int)response.StatusCode, body, text);
    }

    public static async Task<List<SseItem>> SendStreamAsync(HttpClient client, HttpRequestMessage request)
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Deadline);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        var events = new List<SseItem>();
        while (await reader.NextAsync().WaitAsync(Deadline) is { } item)
        {
            events.Add(item);
        }

        return events;
    }

    /// <summary>
    /// Sends a streamed request and reads every event while answering each timer the server asks of
    /// <paramref name="time"/> by advancing exactly that much. A server that waits before the first byte
    /// and then before each later event asks for its n-th timer after writing n events, so the n-th
    /// advance happens only once n events have reached the client: every event is stamped before the clock moves on.
    /// Without <paramref name="oneTimerPerEvent"/> (a replay whose recorded gaps may be zero), each timer is advanced as soon as it is asked for.
    /// </summary>
    public static async Task<(List<SseItem> Events, List<TimeSpan> Delays)> DriveStreamAsync(HttpClient client, HttpRequestMessage request, ObservedTimeProvider time, bool oneTimerPerEvent = true)
    {
        var delays = new List<TimeSpan>();
        var pending = new Queue<TimeSpan>();
        var events = new List<SseItem>();

        async Task<T> Until<T>(Task<T> task)
        {
            while (true)
            {
                while (pending.Count > 0 && (!oneTimerPerEvent || delays.Count <= events.Count))
                {
                    var due = pending.Dequeue();
                    delays.Add(due);
                    time.Advance(due);
                }

                var timer = time.Timers.WaitToReadAsync().AsTask();
                var winner = await Task.WhenAny(task, timer).WaitAsync(Deadline);
                if (winner == task)
                {
                    return await task;
                }

                while (time.Timers.TryRead(out var due))
                {
                    pending.Enqueue(due);
                }
            }
        }

        using var response = await Until(client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));
        Assert.Equal(200, (int)response.StatusCode);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync());
        while (await Until(reader.NextAsync()) is { } item)
        {
            events.Add(item);
        }

        Assert.Empty(pending);
        return (events, delays);
    }
}
