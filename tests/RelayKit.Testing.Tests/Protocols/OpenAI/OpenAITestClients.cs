using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using System.Text;
using OpenAI;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

/// <summary>Points the official OpenAI SDK and plain HTTP at a fake, in memory or over a real socket.</summary>
internal static class OpenAITestClients
{
    public const string ApiKey = "sk-test-secret-key";

    /// <summary>An SDK client over the fake's in-memory handler (no sockets).</summary>
    public static OpenAIClient InMemory(FakeUpstream fake, ClientRetryPolicy? retryPolicy = null)
    {
        var http = fake.CreateClient();
        return new OpenAIClient(new ApiKeyCredential(ApiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "v1"),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = retryPolicy,
        });
    }

    /// <summary>An SDK client with its default transport talking to the fake on Kestrel over loopback HTTP.</summary>
    public static async Task<OpenAIClient> OverHttpAsync(FakeUpstream fake, ClientRetryPolicy? retryPolicy = null)
    {
        var address = await fake.StartAsync();
        return new OpenAIClient(new ApiKeyCredential(ApiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(address, "v1"),
            RetryPolicy = retryPolicy,
        });
    }

    /// <summary>Posts a raw JSON body the way a plain HTTP client would, with a bearer key.</summary>
    public static async Task<HttpResponseMessage> PostJsonAsync(HttpClient http, string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return await http.SendAsync(request);
    }

    /// <summary>The <c>data:</c> payloads of an SSE body, in order.</summary>
    public static List<string> SseData(string body) =>
        body.Split("\n", StringSplitOptions.None)
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal))
            .Select(line => line["data: ".Length..])
            .ToList();
}
