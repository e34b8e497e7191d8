using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>No relay key or provider key in any log line, usage record, page or response.</summary>
public sealed class NoSecretsTests
{
    private static readonly string[] Secrets =
        [RelaySettings.AliceKey, RelaySettings.BobKey, RelaySettings.OpenAiProviderKey, RelaySettings.AnthropicProviderKey];

    [Fact]
    public async Task Keys_appear_in_no_log_line_record_page_or_response()
    {
        await using var relay = UsageRelay.Create();
        relay.Fake.Setup().ForModel("gpt-5.5").WhenLastUserMessageContains("fail").RespondWithError(500);
        using var http = relay.App.CreateClient();
        var seen = new StringBuilder();

        seen.Append((await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"hello"}]}""", bearer: RelaySettings.AliceKey)).Body.GetRawText());
        seen.Append((await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"fail please"}]}""", bearer: RelaySettings.BobKey)).Body.GetRawText());
        foreach (var streamed in await UsageRecordsThroughRelayTests.PostSseAsync(http, "v1/messages", null, RelaySettings.AliceKey,
            """{"model":"claude-code-opus-4.8","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""))
        {
            seen.Append(streamed.GetRawText());
        }
        seen.Append((await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[]}""", bearer: "rk-test-wrong-key-5555")).Body.GetRawText());
        var records = await relay.WaitForRecordsAsync(3);

        seen.Append((await RawRelayCall.GetAsync(http, "relay/status")).Body.GetRawText());
        seen.Append((await RawRelayCall.GetAsync(http, "relay/usage", bearer: RelaySettings.AliceKey)).Body.GetRawText());
        seen.Append((await RawRelayCall.GetAsync(http, "relay/usage", apiKey: RelaySettings.BobKey)).Body.GetRawText());
        foreach (var path in new[] { "relay/status", "relay/usage" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.ParseAdd("text/html");
            using var response = await http.SendAsync(request);
            seen.Append(await response.Content.ReadAsStringAsync());
        }

        var csv = new StringWriter();
        await UsageCsv.WriteAsync(relay.App.Services.GetRequiredService<IUsageStore>().ReadAsync(UsageFilter.All, CancellationToken.None), csv, includeContent: true, CancellationToken.None);
        seen.Append(csv);
        foreach (var record in records)
        {
            seen.Append(record).Append(record.Prompt).Append(record.Completion);
        }

        var logs = relay.App.Logs.GetSnapshot();
        Assert.NotEmpty(logs);
        foreach (var log in logs)
        {
            seen.Append(log.Message).Append(log.Exception);
            foreach (var (key, value) in log.StructuredState ?? [])
            {
                seen.Append(key).Append('=').Append(value).Append(';');
            }
        }

        var everything = seen.ToString();
        Assert.Contains("alice", everything, StringComparison.Ordinal); // the key's name is what stands in for it
        foreach (var secret in Secrets)
        {
            var at = everything.IndexOf(secret, StringComparison.Ordinal);
            Assert.True(at < 0, $"A secret was found: …{(at < 0 ? "" : everything.Substring(Math.Max(0, at - 200), 300))}");
        }

        Assert.DoesNotContain("rk-test-wrong-key-5555", everything, StringComparison.Ordinal);
    }
}
