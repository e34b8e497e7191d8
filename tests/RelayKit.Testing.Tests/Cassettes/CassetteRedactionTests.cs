using RelayKit.Tests.Shared;
using System.Text.Json.Nodes;
using static RelayKit.Testing.Tests.Cassettes.CassetteHttp;

namespace RelayKit.Testing.Tests.Cassettes;

public sealed class CassetteRedactionTests
{
    private static readonly string OpenAIKey = TestSecrets.Key("sk-proj", "Redaction");
    private static readonly string AnthropicKey = TestSecrets.Key("sk-ant-api03", "Redaction");

    [Fact]
    public async Task Secret_headers_and_configured_paths_never_reach_the_written_file()
    {
        using var folder = new CassetteFolder();
        await using var upstream = new FakeUpstream();
        upstream.Setup().RespondWithText("Fine.");
        var address = await upstream.StartAsync();
        var options = folder.Options("secrets", CassetteRecordMode.Once, address);
        options.RedactHeaders.Add("x-tenant-*");
        options.RedactJsonPaths.Add("metadata.customer_email");
        options.RedactJsonPaths.Add("choices[*].message.content");
        var body = Chat("Hello");
        body["metadata"] = new JsonObject { ["customer_email"] = "alice@example.com", ["plan"] = "pro" };
        await using (var recorder = new FakeUpstream(new FakeUpstreamOptions { Cassette = options }))
        {
            var answer = await SendJsonAsync(recorder.CreateClient(), Post("/v1/chat/completions", body,
                ("Authorization", "Bearer " + OpenAIKey),
                ("x-api-key", AnthropicKey),
                ("openai-organization", "org-Secret123"),
                ("openai-project", "proj_Secret456"),
                ("Cookie", "session=s3cr3t-cookie"),
                ("x-tenant-token", "tenant-secret-789")));

            // The caller still gets the real answer; only the file is redacted.
            Assert.Equal("Fine.", (string?)answer.Body!["choices"]![0]!["message"]!["content"]);
        }

        // The upstream got the real credentials: redaction happens on the way to disk, not on the wire.
        Assert.Equal("[redacted]", upstream.Requests[0].Headers["Authorization"]);
        var text = await File.ReadAllTextAsync(folder.FileOf("secrets"));
        foreach (var secret in new[] { OpenAIKey, AnthropicKey, "org-Secret123", "proj_Secret456", "s3cr3t-cookie", "tenant-secret-789", "alice@example.com", "Fine." })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        var request = JsonNode.Parse(text)!["interactions"]![0]!["request"]!;
        foreach (var header in new[] { "authorization", "x-api-key", "openai-organization", "openai-project", "cookie", "x-tenant-token" })
        {
            Assert.Equal("[redacted]", (string?)request["headers"]![header]);
        }

        Assert.Equal("pro", (string?)request["body"]!["metadata"]!["plan"]);
        CassetteSecretScanner.AssertNoSecrets(folder.Path);

        // Matching happens after the same redaction, so the redacted recording still answers.
        var replay = folder.Options("secrets", CassetteRecordMode.None);
        replay.RedactJsonPaths.Add("metadata.customer_email");
        replay.RedactJsonPaths.Add("choices[*].message.content");
        await using var replayer = new FakeUpstream(new FakeUpstreamOptions { Cassette = replay });
        body["metadata"]!["customer_email"] = "someone-else@example.com";
        Assert.Equal(200, (await SendJsonAsync(replayer.CreateClient(), Post("/v1/chat/completions", body))).Status);
    }

    [Fact]
    public void The_secret_scanner_finds_key_shaped_values_and_masks_them()
    {
        using var folder = new CassetteFolder();
        var file = Path.Combine(folder.Path, "leaky.json");
        File.WriteAllLines(file,
        [
            "{",
            $"  \"a\": \"{OpenAIKey}\",",
            $"  \"b\": \"{AnthropicKey}\",",
            $"  \"c\": \"{TestSecrets.Key("rk-live", "Scanner")}\",",
            "  \"d\": \"Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature\",",
            "  \"e\": \"Bearer [redacted]\", \"f\": \"task-1234567890123456789012345\", \"g\": \"chatcmpl-AbCdEf1234567890\"",
            "  \"query\": \"?alt=sse&key=AIzaSyD-QueryStringKey-1234567\", \"h\": \"?key=[redacted]&monkey=AIzaSyD-NotAQueryKey-12345\"",
            "}",
        ]);

        var findings = CassetteSecretScanner.Scan(file);
        Assert.Equal(["OpenAI key", "Anthropic key", "restricted key", "bearer token", "query-string key"], findings.Select(f => f.Kind));
        Assert.Equal([2, 3, 4, 5, 7], findings.Select(f => f.Line));
        var error = Assert.Throws<InvalidOperationException>(() => CassetteSecretScanner.AssertNoSecrets(folder.Path));
        Assert.DoesNotContain(OpenAIKey, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AnthropicKey, error.Message, StringComparison.Ordinal);
        Assert.Contains("leaky.json:2: OpenAI key " + OpenAIKey[..10], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secret_query_parameters_never_reach_the_written_file_or_a_miss_message_and_match_after_redaction()
    {
        using var folder = new CassetteFolder();
        await using var upstream = new FakeUpstream();
        upstream.Setup().RespondWithText("Fine.");
        var address = await upstream.StartAsync();
        var options = folder.Options("query", CassetteRecordMode.Once, address);
        options.RedactQueryParameters.Add("tenant_*");
        const string query = "?alt=sse&key=AIzaSyD-QueryStringKey-1234567&tenant_token=tenant-query-secret&api-version=2024-10-21";
        await using (var recorder = new FakeUpstream(new FakeUpstreamOptions { Cassette = options }))
        {
            var answer = await SendJsonAsync(recorder.CreateClient(), Post("/v1/chat/completions" + query, Chat("Hello")));
            Assert.Equal(200, answer.Status);
        }

        var text = await File.ReadAllTextAsync(folder.FileOf("query"));
        Assert.DoesNotContain("AIzaSyD-QueryStringKey-1234567", text, StringComparison.Ordinal);
        Assert.DoesNotContain("tenant-query-secret", text, StringComparison.Ordinal);
        Assert.Equal("?alt=sse&key=[redacted]&tenant_token=[redacted]&api-version=2024-10-21",
            (string?)JsonNode.Parse(text)!["interactions"]![0]!["request"]!["query"]);
        CassetteSecretScanner.AssertNoSecrets(folder.Path);

        // Matched after the same redaction: another key in the same place replays the recording; a changed
        // parameter that is not secret does not.
        var replay = folder.Options("query", CassetteRecordMode.None);
        replay.RedactQueryParameters.Add("tenant_*");
        await using var replayer = new FakeUpstream(new FakeUpstreamOptions { Cassette = replay });
        var other = query.Replace("AIzaSyD-QueryStringKey-1234567", "AIzaSyD-AnotherKey-7654321", StringComparison.Ordinal);
        Assert.Equal(200, (await SendJsonAsync(replayer.CreateClient(), Post("/v1/chat/completions" + other, Chat("Hello")))).Status);
        var miss = await SendJsonAsync(replayer.CreateClient(), Post("/v1/chat/completions" + query.Replace("2024-10-21", "2025-01-01", StringComparison.Ordinal), Chat("Hello")));
        Assert.NotEqual(200, miss.Status);
        Assert.DoesNotContain("AIzaSyD", miss.Body!.ToJsonString(), StringComparison.Ordinal);
    }
}
