using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>A request the relay refuses still leaves a usage record for its caller, never one for a caller without a key.</summary>
public sealed class RefusedRequestRecordTests
{
    [Fact]
    public async Task A_budget_refusal_is_recorded_with_its_status_and_error_and_no_upstream()
    {
        await using var relay = UsageRelay.Create(s =>
        {
            s["ModelRelay:Keys:0:Budget"] = 0.000001m.ToString(CultureInfo.InvariantCulture);
            s["ModelRelay:Models:gpt-5.5:Price:Input"] = "1";
            s["ModelRelay:Models:gpt-5.5:Price:Output"] = "10";
        });
        using var http = relay.App.CreateClient();

        using var unauthenticated = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        using (var anonymous = await http.SendAsync(unauthenticated))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-5.5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RelaySettings.AliceKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal("alice", record.KeyName);
        Assert.Equal("gpt-5.5", record.RequestedModel);
        Assert.Equal(429, record.StatusCode);
        Assert.Equal("insufficient_quota", record.ErrorType);
        Assert.Null(record.Provider);
        Assert.Null(record.InputTokens);
        Assert.Equal(0m, record.Cost);
        Assert.Empty(relay.Fake.Requests);
    }
}
