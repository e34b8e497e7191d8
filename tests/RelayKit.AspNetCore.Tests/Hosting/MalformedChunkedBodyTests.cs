using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>A body Kestrel refuses while the relay reads it (a chunk size that overflows) is a 400 in the caller's format.</summary>
public sealed class MalformedChunkedBodyTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData("v1/chat/completions", false)]
    [InlineData("v1/messages", true)]
    public async Task A_chunk_size_that_overflows_is_a_400_in_the_callers_format(string path, bool anthropic)
    {
        await using var relay = FakeRelay.Create();
        relay.App.UseKestrel(0);
        relay.App.StartServer();
        using var http = relay.App.CreateClient();
        var address = http.BaseAddress!;

        var key = anthropic ? $"x-api-key: {RelaySettings.AliceKey}\r\nanthropic-version: 2023-06-01" : $"Authorization: Bearer {RelaySettings.AliceKey}";
        var raw = $"POST /{path} HTTP/1.1\r\nHost: {address.Authority}\r\n{key}\r\nContent-Type: application/json\r\n" +
            "Transfer-Encoding: chunked\r\n\r\nfffffffff\r\n{\"model\":\"gpt-5.5\"}\r\n0\r\n\r\n";

        var (status, body) = await SendRawAsync(address, raw);

        Assert.Equal(400, status);
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        if (anthropic)
        {
            Assert.Equal("error", json.RootElement.GetProperty("type").GetString());
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        }
        else
        {
            Assert.Equal("invalid_body", error.GetProperty("code").GetString());
        }

        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.Empty(relay.Fake.Requests);
    }

    /// <summary>Writes the bytes as they are and reads one response: its status and its body (Content-Length or to the end).</summary>
    private static async Task<(int Status, string Body)> SendRawAsync(Uri address, string raw)
    {
        using var cancel = new CancellationTokenSource(Guard);
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port, cancel.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(raw), cancel.Token);

        var received = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.UTF8.GetString(received.ToArray());
            var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headerEnd >= 0)
            {
                var head = text[..headerEnd];
                var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) && text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
                {
                    return (int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), Dechunk(text[(headerEnd + 4)..]));
                }

                if (length is not null && text.Length - headerEnd - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
                {
                    return (int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), text[(headerEnd + 4)..]);
                }
            }

            int read;
            try
            {
                read = await stream.ReadAsync(buffer, cancel.Token);
            }
            catch (IOException)
            {
                read = 0;
            }

            if (read == 0)
            {
                Assert.True(headerEnd >= 0, $"no response: '{text}'");
                return (int.Parse(text.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), text[(headerEnd + 4)..]);
            }

            received.Write(buffer, 0, read);
        }
    }

    private static string Dechunk(string chunked)
    {
        var body = new StringBuilder();
        var at = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..lineEnd], 16);
            if (size == 0)
            {
                return body.ToString();
            }

            body.Append(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
