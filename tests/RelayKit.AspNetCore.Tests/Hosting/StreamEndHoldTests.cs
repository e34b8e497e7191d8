using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>
/// The durability rule for streams: the caller's end event (<c>[DONE]</c>, <c>message_stop</c>,
/// <c>response.completed</c>) goes out only after the request's settle has ended, so a caller whose SDK saw the stream
/// complete is never holding an answer whose charge a crash could lose. Over Kestrel, read as it arrives.
/// </summary>
public sealed class StreamEndHoldTests
{
    public static TheoryData<string, string, string, string> Streams => new()
    {
        // Not translated: the upstream's own end event is held.
        { "chat, same format", "v1/chat/completions", """{"model":"default","stream":true,"messages":[{"role":"user","content":"hi"}]}""", "data: [DONE]" },
        { "messages, same format", "v1/messages", """{"model":"claude-code-opus-4.8","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", "event: message_stop" },
        { "responses, same format", "v1/responses", """{"model":"default","stream":true,"input":"hi"}""", "event: response.completed" },

        // Translated: the translator's end event is held the same way.
        { "chat to messages", "v1/chat/completions", """{"model":"claude-code-opus-4.8","stream":true,"messages":[{"role":"user","content":"hi"}]}""", "data: [DONE]" },
        { "messages to chat", "v1/messages", """{"model":"default","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", "event: message_stop" },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task The_end_event_reaches_the_caller_only_after_the_settle_has_ended(string name, string path, string body, string endEvent)
    {
        Assert.NotEmpty(name);
        var settlement = new HeldSettlement();
        await using var relay = FakeRelay.Create(services: s => s.AddSingleton<IRelaySettlement>(settlement));
        relay.App.UseKestrel(0);
        relay.App.StartServer();
        using var http = relay.App.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", RelaySettings.AliceKey);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var received = new StringBuilder();
        var reading = ReadAllAsync(await response.Content.ReadAsStreamAsync(), received);
        try
        {
            await settlement.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

            // Settling: the events before the end may be there, the end event is not, nor the end of the body.
            await Task.Delay(300);
            string soFar;
            lock (received)
            {
                soFar = received.ToString();
            }

            Assert.DoesNotContain(endEvent, soFar, StringComparison.Ordinal);
            Assert.False(reading.IsCompleted);
        }
        finally
        {
            settlement.Release.TrySetResult();
        }

        await reading.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(endEvent, received.ToString(), StringComparison.Ordinal);
        Assert.True(settlement.Finished);
    }

    private static async Task ReadAllAsync(Stream body, StringBuilder received)
    {
        var buffer = new byte[4096];
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            lock (received)
            {
                received.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }
    }

    private sealed class HeldSettlement : IRelaySettlement
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Finished { get; private set; }

        public async ValueTask SettleAsync(RelayRequestContext context)
        {
            Entered.TrySetResult();
            await Release.Task;
            Finished = true;
        }
    }
}
