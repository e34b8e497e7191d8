using System.Text.Json.Nodes;
using RelayKit.Testing.Tests.Protocols.OpenAI;

namespace RelayKit.Testing.Tests.Generation;

/// <summary>
/// The generator reuses its Bogus fakers across requests (building one per answer cost more than the answer):
/// reuse must not change what a request gets, whatever ran before it and whatever runs beside it.
/// </summary>
public sealed class GeneratorReuseTests
{
    [Fact]
    public async Task Answers_made_concurrently_on_reused_fakers_equal_those_of_a_fresh_fake()
    {
        var prompts = Enumerable.Range(0, 48).Select(i => $"Question number {i}, with a tool or not").ToList();
        var expected = new List<string>();
        foreach (var prompt in prompts)
        {
            // One fresh fake per prompt: nothing reused, the reference.
            await using var single = new FakeUpstream(new FakeUpstreamOptions { Seed = 5 });
            expected.Add(await AnswerAsync(single.CreateClient(), prompt));
        }

        await using var shared = new FakeUpstream(new FakeUpstreamOptions { Seed = 5 });
        var http = shared.CreateClient();
        var concurrent = await Task.WhenAll(prompts.Select(p => Task.Run(() => AnswerAsync(http, p))));

        Assert.Equal(expected, concurrent);
        Assert.Equal(prompts.Count, expected.Distinct().Count());
    }

    private static async Task<string> AnswerAsync(HttpClient http, string prompt)
    {
        // Some requests force a tool, so the schema generator (dates, emails, numbers) shares the fakers too.
        var tools = prompt.EndsWith('0') || prompt.Contains('3', StringComparison.Ordinal)
            ? ""","tools":[{"type":"function","function":{"name":"book","parameters":{"type":"object","properties":{"email":{"type":"string","format":"email"},"nights":{"type":"integer","minimum":1,"maximum":9},"note":{"type":"string"}},"required":["email","nights","note"]}}}],"tool_choice":"required" """
            : "";
        using var response = await OpenAITestClients.PostJsonAsync(http, "/v1/chat/completions",
            $$"""{"model":"gpt-4o","messages":[{"role":"user","content":"{{prompt}}"}]{{tools}}}""");
        var message = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!;
        return (string?)message["content"] ?? (string)message["tool_calls"]![0]!["function"]!["arguments"]!;
    }
}
