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
    public async Task A_json_answer_gets_the_callers_model_and_keeps_every_other_byte(int chunkSize)
    {
        const string upstream = """{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-2e-3]}],"model":"up\u002Dstream","usage":{"model":"kept"}}""";

        var output = await RunAsync(upstream, "application/json", chunkSize, "my \"model\"");

        Assert.Equal("""{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-2e-3]}],"model":"my \"model\"","usage":{"model":"kept"}}""", output);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(4096)]
    public async Task A_stream_gets_the_callers_model_in_the_answer_object_only(int chunkSize)
    {
        const string upstream =
            "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-opus-4-8\",\"content\":[]}}\r\n\r\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"the \\\"model\\\" said\"}}\n\n"
            + "data: {\"id\":\"c\",\"model\":\"gpt-x\",\"choices\":[{\"delta\":{\"model\":\"tool\"}}]}\n\n"
            + "data: [DONE]\n\n";

        var output = await RunAsync(upstream, "text/event-stream", chunkSize, "claude-code-opus-4.8");

        Assert.Equal(upstream
            .Replace("\"model\":\"claude-opus-4-8\"", "\"model\":\"claude-code-opus-4.8\"", StringComparison.Ordinal)
            .Replace("\"model\":\"gpt-x\"", "\"model\":\"claude-code-opus-4.8\"", StringComparison.Ordinal), output);
    }

    [Fact]
    public async Task A_json_answer_whose_model_comes_last_is_passed_on_as_it_is_read_not_held_whole()
    {
        var vectors = string.Join(",", Enumerable.Range(0, 20_000).Select(i => "0.125"));
        var head = Encoding.UTF8.GetBytes("{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"embedding\":[" + vectors + "]}],");
        var tail = Encoding.UTF8.GetBytes("\"model\":\"upstream\"}");
        var transform = new CallerModelNameTransform("mine", next: null);
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        transform.OnResponseStarted(response, new DefaultHttpContext().Response);
        using var caller = new MemoryStream();

        await transform.WriteAsync(head, caller, CancellationToken.None);
        var beforeModel = caller.Length;
        await transform.WriteAsync(tail, caller, CancellationToken.None);
        await transform.CompleteAsync(true, caller, CancellationToken.None);

        // All but the last unread token went out before the model arrived.
        Assert.InRange(beforeModel, head.Length - 16, head.Length);
        Assert.Equal(Encoding.UTF8.GetString(head) + "\"model\":\"mine\"}", Encoding.UTF8.GetString(caller.ToArray()));
    }

    [Fact]
    public async Task An_error_answer_passes_untouched()
    {
        const string upstream = """{"model":"upstream","error":{"message":"no"}}""";

        var output = await RunAsync(upstream, "application/json", 3, "mine", System.Net.HttpStatusCode.BadRequest);

        Assert.Equal(upstream, output);
    }

    private static async Task<string> RunAsync(string upstream, string mediaType, int chunkSize, string callerModel, System.Net.HttpStatusCode status = System.Net.HttpStatusCode.OK)
    {
        var transform = new CallerModelNameTransform(callerModel, next: null);
        using var response = new HttpResponseMessage(status) { Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        transform.OnResponseStarted(response, new DefaultHttpContext().Response);
        var bytes = Encoding.UTF8.GetBytes(upstream);
        using var caller = new MemoryStream();
        for (var at = 0; at < bytes.Length; at += chunkSize)
        {
            await transform.WriteAsync(bytes.AsMemory(at, Math.Min(chunkSize, bytes.Length - at)), caller, CancellationToken.None);
        }

        await transform.CompleteAsync(true, caller, CancellationToken.None);
        return Encoding.UTF8.GetString(caller.ToArray());
    }
}
