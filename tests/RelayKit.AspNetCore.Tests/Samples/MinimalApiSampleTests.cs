using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using RelayKit.Samples.MinimalApi;

namespace RelayKit.AspNetCore.Tests.Samples;

/// <summary>The MinimalApi sample as it runs, on its embedded fake upstream.</summary>
public sealed class MinimalApiSampleTests
{
    [Fact]
    public async Task Ask_answers_the_same_question_from_a_gpt_and_a_claude_model()
    {
        // The sample's warnings (an unreachable provider says why) go into the failure message.
        await using var sample = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
            web.ConfigureLogging(logging => logging.AddFakeLogging()));
        using var http = sample.CreateClient();

        using var raw = await http.GetAsync("/ask?q=What+is+a+relay%3F");
        Assert.True(raw.IsSuccessStatusCode, $"{(int)raw.StatusCode} {string.Join(",", raw.Headers.Select(h => h.Key + "=" + string.Join(";", h.Value)))} {await raw.Content.ReadAsStringAsync()}"
            + string.Join("\n", sample.Services.GetRequiredService<FakeLogCollector>().GetSnapshot().Where(r => r.Level >= LogLevel.Warning).Select(r => r.Category + ": " + r.Message)));
        var answers = await raw.Content.ReadFromJsonAsync<AskAnswers>();

        Assert.NotNull(answers);
        Assert.Equal("What is a relay?", answers.Question);
        Assert.False(string.IsNullOrWhiteSpace(answers.Gpt));
        Assert.False(string.IsNullOrWhiteSpace(answers.Claude));
    }

    [Fact]
    public async Task The_relay_beside_it_serves_the_claude_model_to_an_openai_caller()
    {
        await using var sample = new WebApplicationFactory<Program>();
        using var http = sample.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "claude-code-opus-4.8", messages = new[] { new { role = "user", content = "Hello!" } } }),
        };
        request.Headers.Authorization = new("Bearer", "rk-dev-local-only");

        using var response = await http.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("chat.completion", (string?)body["object"]);
        Assert.Equal("claude-code-opus-4.8", (string?)body["model"]);
        Assert.True(response.Headers.Contains("x-request-id"), "the relay answered, not the fake behind it");
        // The id of an Anthropic message: the answer came from the fake's Anthropic side, translated.
        Assert.StartsWith("msg_", (string?)body["id"], StringComparison.Ordinal);
    }
}
