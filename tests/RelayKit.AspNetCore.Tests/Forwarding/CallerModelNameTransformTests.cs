using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Forwarding;

namespace RelayKit.AspNetCore.Tests.Forwarding;

/// <summary>The answer's model renamed wherever the upstream's chunks happen to be cut.</summary>
public sealed class CallerModelNameTransformTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public void A_json_answer_gets_the_callers_model_and_keeps_every_other_byte(int chunkSize)
    {
        const string upstream = """{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-2e-3]}],"model":"up\u002Dstream","usage":{"model":"kept"}}""";

        var output = Run(upstream, "application/json", chunkSize, "my \"model\"");

        Assert.Equal("""{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-2e-3]}],"model":"my \"model\"","usage":{"model":"kept"}}""", output);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(4096)]
    public void A_stream_gets_the_callers_model_in_the_answer_object_only(int chunkSize)
    {
        const string upstream =
            "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-opus-4-8\",\"content\":[]}}\r\n\r\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"the \\\"model\\\" said\"}}\n\n"
            + "data: {\"id\":\"c\",\"model\":\"gpt-x\",\"choices\":[{\"delta\":{\"model\":\"tool\"}}]}\n\n"
            + "data: [DONE]\n\n";

        var output = Run(upstream, "text/event-stream", chunkSize, "claude-code-opus-4.8");

        Assert.Equal(upstream
            .Replace("\"model\":\"claude-opus-4-8\"", "\"model\":\"claude-code-opus-4.8\"", StringComparison.Ordinal)
            .Replace("\"model\":\"gpt-x\"", "\"model\":\"claude-code-opus-4.8\"", StringComparison.Ordinal), output);
    }

    [Fact]
    public void A_json_answer_whose_model_comes_last_is_passed_on_as_it_is_read_not_held_whole()
    {
        var vectors = string.Join(",", Enumerable.Range(0, 20_000).Select(i => "0.125"));
        var head = Encoding.UTF8.GetBytes("{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"embedding\":[" + vectors + "]}],");
        var tail = Encoding.UTF8.GetBytes("\"model\":\"upstream\"}");
        using var chain = Chain("mine", "application/json", System.Net.HttpStatusCode.OK);
        using var caller = new MemoryStream();

        caller.Write(chain.Push(head).Span);
        var beforeModel = caller.Length;
        caller.Write(chain.Push(tail).Span);
        caller.Write(chain.Finish(clean: true).Span);

        // All but the last unread token went out before the model arrived.
        Assert.InRange(beforeModel, head.Length - 16, head.Length);
        Assert.Equal(Encoding.UTF8.GetString(head) + "\"model\":\"mine\"}", Encoding.UTF8.GetString(caller.ToArray()));
    }

    [Fact]
    public void An_error_answer_passes_untouched()
    {
        const string upstream = """{"model":"upstream","error":{"message":"no"}}""";

        var output = Run(upstream, "application/json", 3, "mine", System.Net.HttpStatusCode.BadRequest);

        Assert.Equal(upstream, output);
    }

    private static string Run(string upstream, string mediaType, int chunkSize, string callerModel, System.Net.HttpStatusCode status = System.Net.HttpStatusCode.OK)
    {
        using var chain = Chain(callerModel, mediaType, status);
        var bytes = Encoding.UTF8.GetBytes(upstream);
        using var caller = new MemoryStream();
        for (var at = 0; at < bytes.Length; at += chunkSize)
        {
            caller.Write(chain.Push(bytes.AsMemory(at, Math.Min(chunkSize, bytes.Length - at))).Span);
        }

        caller.Write(chain.Finish(clean: true).Span);
        return Encoding.UTF8.GetString(caller.ToArray());
    }

    /// <summary>A response chain with the rename as its only stage.</summary>
    private static ResponseChain Chain(string callerModel, string mediaType, System.Net.HttpStatusCode status)
    {
        var chain = new ResponseChain(meter: null, translator: null, new CallerModelNameTransform(callerModel), strip: false);
        using var response = new HttpResponseMessage(status) { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        chain.Start(RelayKit.AspNetCore.Protocols.RelayOperation.ChatCompletions, response, new DefaultHttpContext().Response);
        return chain;
    }
}
