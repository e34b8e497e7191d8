using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Tests.Forwarding;

public sealed class StreamEndWatchTests
{
    [Theory]
    [InlineData("chat", "data: {\"choices\":[]}\n\ndata: [DONE]\n\n", true)]
    [InlineData("chat", "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", false)]
    [InlineData("chat", "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n", true)]
    [InlineData("messages", "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\"}\n\n", false)]
    [InlineData("messages", "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", true)]
    [InlineData("messages", "data: {\"type\":\"message_stop\"}", true)]
    [InlineData("messages", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n", true)]
    [InlineData("responses", "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":3}\n\n", false)]
    [InlineData("responses", "data: {\"response\":{\"status\":\"completed\"},\"type\":\"response.completed\",\"sequence_number\":9}\n\n", true)]
    [InlineData("responses", "event: response.failed\ndata: {\"type\":\"response.failed\"}\n\n", true)]
    public void An_end_event_is_what_ends_a_stream(string operation, string stream, bool ended)
    {
        using var chain = Watched(operation);

        // Byte by byte: an end event split across chunks still counts.
        foreach (var b in Encoding.UTF8.GetBytes(stream))
        {
            chain.Push(new[] { b });
        }

        chain.Finish(clean: true);
        Assert.Equal(ended, chain.Watch!.Ended);
    }

    [Fact]
    public void A_Responses_cut_frame_continues_the_sequence()
    {
        using var chain = Watched("responses");
        chain.Push("event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1}\n\n"u8.ToArray());

        var frame = Encoding.UTF8.GetString(chain.Watch!.CutFrame(RelayOperation.Responses, "cut"));

        Assert.StartsWith("event: error\ndata: ", frame, StringComparison.Ordinal);
        using var data = JsonDocument.Parse(frame["event: error\ndata: ".Length..]);
        Assert.Equal(2, data.RootElement.GetProperty("sequence_number").GetInt64());
        Assert.Equal("upstream_broken", data.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public void Only_a_successful_event_stream_is_watched()
    {
        using var error = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("{}") };
        using var json = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") };
        using var stream = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("") };
        stream.Content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");

        Assert.Null(StreamEndWatch.For(RelayOperation.ChatCompletions, error));
        Assert.Null(StreamEndWatch.For(RelayOperation.ChatCompletions, json));
        Assert.Null(StreamEndWatch.For(RelayOperation.Embeddings, stream));
        Assert.NotNull(StreamEndWatch.For(RelayOperation.ChatCompletions, stream));
    }

    /// <summary>A response chain with no stage but the end watch, for a successful event stream.</summary>
    private static ResponseChain Watched(string operation)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("") };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
        var upstream = operation switch
        {
            "chat" => RelayOperation.ChatCompletions,
            "messages" => RelayOperation.Messages,
            _ => RelayOperation.Responses,
        };
        var chain = new ResponseChain(meter: null, translator: null, rename: null, strip: false);
        chain.Start(upstream, response, new Microsoft.AspNetCore.Http.DefaultHttpContext().Response);
        Assert.NotNull(chain.Watch);
        return chain;
    }
}
