using System.Text;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.VisualBasic.FileIO;
using RelayKit.AspNetCore.Tests.Admin;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;
using RelayKit.AspNetCore.Usage;
using static RelayKit.AspNetCore.Tests.Admin.AdminCalls;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>
/// Every kind of log site that carries a value a caller or an admin controls (the usage line, the budget refusal, the
/// operations API) gets it through <see cref="LogValue"/>: line breaks escaped, secret-looking text redacted. Usage
/// records keep the (scrubbed) value as it is; each output escapes it for its own format (CSV quoted and
/// formula-guarded, JSON string-escaped, the page's text set as text).
/// </summary>
public sealed class LogInjectionSitesTests
{
    // Secret-looking as SecretScrubber defines it: sk-proj- and 40 characters.
    private const string SecretTail = "Abcdefghij0123456789Abcdefghij0123456789";
    private const string Secret = "sk-proj-" + SecretTail;
    private const string ForgingName = "alice\r\nFORGED line " + Secret;
    private const string EscapedName = @"alice\r\nFORGED line [redacted]";

    [Fact]
    public async Task The_usage_line_escapes_and_redacts_a_key_name_and_the_record_keeps_it_scrubbed_for_csv_and_json()
    {
        await using var relay = FakeRelay.Create(s => s.With("ModelRelay:Keys:0:Name", ForgingName));
        relay.Fake.Setup().RespondWithText("ok");

        var (status, _, _) = await RawRelayCall.PostAsync(
            relay.App.CreateClient(), "v1/chat/completions", """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);
        Assert.Equal(200, status);

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        var logs = relay.App.Logs.GetSnapshot();
        AssertClean(logs);
        var usage = Assert.Single(logs, r => r.Id.Name == "RelayUsage");
        Assert.True(usage.Message.Contains($"by {EscapedName}: chat gpt-5.5", StringComparison.Ordinal), usage.Message);

        // The record keeps the value (scrubbed): escaping belongs to each output.
        Assert.Equal("alice\r\nFORGED line [redacted]", record.KeyName);
        var csv = await CsvAsync(record);
        Assert.Contains("\"alice\r\nFORGED line [redacted]\"", csv, StringComparison.Ordinal);
        Assert.Equal("alice\r\nFORGED line [redacted]", ParseCsv(csv)[1][2]);
        Assert.DoesNotContain(SecretTail, csv, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_budget_refusal_line_escapes_and_redacts_the_key_name()
    {
        await using var relay = BudgetRelay.Create(0.000001m, s => s.With("ModelRelay:Keys:0:Name", ForgingName));

        var (status, _, _) = await RawRelayCall.PostAsync(
            relay.App.CreateClient(), "v1/chat/completions", """{"model":"gpt-5.5","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);
        Assert.Equal(429, status);

        var logs = relay.App.Logs.GetSnapshot();
        AssertClean(logs);
        var refused = Assert.Single(logs, r => r.Message.StartsWith("Refused a request of key", StringComparison.Ordinal));
        Assert.StartsWith($"Refused a request of key {EscapedName}: worst case", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operations_api_lines_escape_and_redact_key_names_and_credit_references()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        var created = await app.CreateKeyAsync(admin, new { name = ForgingName, credit = 5m, credit_reference = "pay\r\nFORGED " + Secret });
        var id = created.GetProperty("id").GetString()!;
        var topUp = await PostJsonAsync(admin, $"{KeysPath}/{id}/topups", new { amount = 1m, reference = "top\nFORGED " + Secret });
        Assert.True(topUp.Status is System.Net.HttpStatusCode.OK or System.Net.HttpStatusCode.Created, topUp.Body.ToString());

        var logs = app.Logs.GetSnapshot();
        AssertClean(logs);
        Assert.Contains(logs, r => r.Message.Contains($"({EscapedName})", StringComparison.Ordinal) && r.Message.StartsWith("Created relay key", StringComparison.Ordinal));
        Assert.Contains(logs, r => r.Message.Contains(@"reference pay\r\nFORGED [redacted]", StringComparison.Ordinal));
        Assert.Contains(logs, r => r.Message.Contains(@"reference top\nFORGED [redacted]", StringComparison.Ordinal));
    }

    [Fact]
    public void The_usage_page_sets_every_value_as_text_never_as_markup()
    {
        var page = UsagePageHtml.Render("nonce");
        Assert.DoesNotContain("innerHTML", page, StringComparison.Ordinal);
        Assert.DoesNotContain("outerHTML", page, StringComparison.Ordinal);
        Assert.DoesNotContain("insertAdjacentHTML", page, StringComparison.Ordinal);
        Assert.DoesNotContain("document.write", page, StringComparison.Ordinal);
        Assert.Contains("td.textContent = text(column(row))", page, StringComparison.Ordinal);
    }

    /// <summary>No record forges a line or carries the secret, in its message or in its structured values.</summary>
    private static void AssertClean(IReadOnlyList<FakeLogRecord> logs)
    {
        Assert.NotEmpty(logs);
        foreach (var log in logs)
        {
            Assert.DoesNotContain('\r', log.Message);
            Assert.DoesNotContain('\n', log.Message);
            Assert.DoesNotContain(SecretTail, log.Message, StringComparison.Ordinal);
            foreach (var (key, value) in log.StructuredState ?? [])
            {
                Assert.False(value?.Contains(SecretTail, StringComparison.Ordinal) == true, $"{key} carries the secret: {value}");
                Assert.False(value?.AsSpan().IndexOfAny('\r', '\n') >= 0, $"{key} carries a line break: {value}");
            }
        }
    }

    private static async Task<string> CsvAsync(UsageRecord record)
    {
        var store = new RelayKit.AspNetCore.Usage.Stores.InMemoryUsageStore();
        await store.AppendAsync([record], CancellationToken.None);
        var text = new StringBuilder();
        await using var writer = new StringWriter(text);
        await UsageCsv.WriteAsync(store.ReadAsync(UsageFilter.All, CancellationToken.None), writer, false, CancellationToken.None);
        return text.ToString();
    }

    private static List<string[]> ParseCsv(string csv)
    {
        using var parser = new TextFieldParser(new StringReader(csv)) { HasFieldsEnclosedInQuotes = true, TrimWhiteSpace = false };
        parser.SetDelimiters(",");
        var rows = new List<string[]>();
        while (!parser.EndOfData)
        {
            rows.Add(parser.ReadFields()!);
        }

        return rows;
    }
}
