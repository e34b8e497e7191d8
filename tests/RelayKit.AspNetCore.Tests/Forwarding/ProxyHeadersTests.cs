using System.Net;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Forwarding;

namespace RelayKit.AspNetCore.Tests.Forwarding;

public sealed class ProxyHeadersTests
{
    [Fact]
    public void The_callers_credentials_and_connection_headers_stay_behind()
    {
        var http = new DefaultHttpContext();
        var headers = http.Request.Headers;
        headers.Authorization = "Bearer rk-caller";
        headers["x-api-key"] = "rk-caller";
        headers.Cookie = "session=1";
        headers.Connection = "keep-alive";
        headers["Keep-Alive"] = "timeout=5";
        headers.AcceptEncoding = "gzip, br";
        headers["OpenAI-Organization"] = "org-caller";
        headers["x-request-id"] = "caller-id";
        headers["X-Forwarded-For"] = "10.0.0.1";
        headers["anthropic-version"] = "2023-06-01";
        headers["anthropic-beta"] = "tools-2024-04-04";
        headers["x-stainless-lang"] = "dotnet";
        headers.Accept = "text/event-stream";
        using var request = new HttpRequestMessage();

        ProxyHeaders.CopyRequestHeaders(http.Request, request);

        var forwarded = request.Headers.Select(h => h.Key.ToLowerInvariant()).Order().ToList();
        Assert.Equal(["accept", "anthropic-beta", "anthropic-version", "x-stainless-lang"], forwarded);
    }

    [Fact]
    public void Useful_upstream_headers_pass_and_the_upstream_request_id_moves_aside()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("{}") };
        response.Headers.TryAddWithoutValidation("x-request-id", "req_upstream");
        response.Headers.TryAddWithoutValidation("retry-after", "3");
        response.Headers.TryAddWithoutValidation("x-ratelimit-remaining-requests", "0");
        response.Headers.TryAddWithoutValidation("request-id", "req_anthropic");
        response.Headers.TryAddWithoutValidation("Set-Cookie", "__cf_bm=x");
        response.Headers.TryAddWithoutValidation("openai-organization", "org-provider");
        response.Headers.TryAddWithoutValidation("anthropic-organization-id", "org-provider");
        response.Headers.TryAddWithoutValidation("Transfer-Encoding", "chunked");
        response.Headers.TryAddWithoutValidation("Alt-Svc", "h3=\":443\"");
        var http = new DefaultHttpContext();

        ProxyHeaders.CopyResponseHeaders(response, http.Response);

        var headers = http.Response.Headers;
        Assert.Equal("req_upstream", headers[ProxyHeaders.UpstreamRequestIdHeader]);
        Assert.False(headers.ContainsKey("x-request-id"));
        Assert.Equal("3", headers.RetryAfter);
        Assert.Equal("0", headers["x-ratelimit-remaining-requests"]);
        Assert.Equal("req_anthropic", headers["request-id"]);
        Assert.Equal("text/plain; charset=utf-8", headers.ContentType);
        Assert.False(headers.ContainsKey("Set-Cookie"));
        Assert.False(headers.ContainsKey("openai-organization"));
        Assert.False(headers.ContainsKey("anthropic-organization-id"));
        Assert.False(headers.ContainsKey("Transfer-Encoding"));
        Assert.False(headers.ContainsKey("Alt-Svc"));
    }

    [Fact]
    public void Headers_the_Connection_header_names_are_for_one_hop_and_stay_behind_both_ways()
    {
        var http = new DefaultHttpContext();
        http.Request.Headers.Connection = "keep-alive, X-Secret-Hop ,x-other-hop";
        http.Request.Headers["x-secret-hop"] = "should-not-pass";
        http.Request.Headers["X-Other-Hop"] = "nor-this";
        http.Request.Headers["x-stainless-lang"] = "dotnet";
        using var request = new HttpRequestMessage();

        ProxyHeaders.CopyRequestHeaders(http.Request, request);

        Assert.Equal(["x-stainless-lang"], request.Headers.Select(h => h.Key.ToLowerInvariant()));

        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}") };
        response.Headers.TryAddWithoutValidation("Connection", "x-upstream-hop");
        response.Headers.TryAddWithoutValidation("x-upstream-hop", "1");
        response.Headers.TryAddWithoutValidation("x-ratelimit-remaining-requests", "9");
        var answer = new DefaultHttpContext();

        ProxyHeaders.CopyResponseHeaders(response, answer.Response);

        Assert.False(answer.Response.Headers.ContainsKey("x-upstream-hop"));
        Assert.Equal("9", answer.Response.Headers["x-ratelimit-remaining-requests"]);
    }
}
