using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>Sends what no SDK would (broken JSON, wrong content types, no key) and reads the answer's JSON.</summary>
internal static class RawRelayCall
{
    public static async Task<(int Status, JsonElement Body, HttpResponseHeaders Headers)> PostAsync(
        HttpClient http, string path, string body, string? bearer = null, string? apiKey = null, string contentType = "application/json",
        bool chunked = false, string? anthropicVersion = null) =>
        await PostAsync(http, path, Encoding.UTF8.GetBytes(body), bearer, apiKey, contentType, chunked, anthropicVersion);

    /// <summary>Posts bytes as they are, which a string cannot carry when they are not UTF-8.</summary>
    public static async Task<(int Status, JsonElement Body, HttpResponseHeaders Headers)> PostAsync(
        HttpClient http, string path, byte[] body, string? bearer = null, string? apiKey = null, string contentType = "application/json",
        bool chunked = false, string? anthropicVersion = null)
    {
        HttpContent content = chunked
            ? new StreamContent(new MemoryStream(body))
            : new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (chunked)
        {
            request.Headers.TransferEncodingChunked = true;
        }

        return await SendAsync(http, request, bearer, apiKey, anthropicVersion);
    }

    public static async Task<(int Status, JsonElement Body, HttpResponseHeaders Headers)> GetAsync(
        HttpClient http, string path, string? bearer = null, string? apiKey = null, string? anthropicVersion = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendAsync(http, request, bearer, apiKey, anthropicVersion);
    }

    private static async Task<(int, JsonElement, HttpResponseHeaders)> SendAsync(HttpClient http, HttpRequestMessage request, string? bearer, string? apiKey, string? anthropicVersion)
    {
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (apiKey is not null)
        {
            request.Headers.Add("x-api-key", apiKey);
        }

        if (anthropicVersion is not null)
        {
            request.Headers.Add("anthropic-version", anthropicVersion);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, body, response.Headers);
    }
}
