using Microsoft.VisualBasic.FileIO;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.AspNetCore.Tests.Usage;

public sealed class UsageCsvTests
{
    private static async Task<string> ExportAsync(bool includeContent, params UsageRecord[] records)
    {
        var store = new InMemoryUsageStore();
        await store.AppendAsync(records, CancellationToken.None);
        using var writer = new StringWriter();
        await UsageCsv.WriteAsync(store.ReadAsync(UsageFilter.All, CancellationToken.None), writer, includeContent, CancellationToken.None);
        return writer.ToString();
    }

    private static List<string[]> Parse(string csv)
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

    [Fact]
    public async Task Awkward_text_survives_a_round_trip_through_a_CSV_parser()
    {
        var record = UsageRecords.Make("r1", key: "ops, \"night\" shift", model: "gpt-4o") with
        {
            Prompt = "line one\r\nline \"two\", end",
            Completion = " padded ",
        };

        var rows = Parse(await ExportAsync(includeContent: true, record));

        Assert.Equal(2, rows.Count);
        var header = rows[0];
        var cells = header.Zip(rows[1]).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal("ops, \"night\" shift", cells["key_name"]);
        Assert.Equal("line one\r\nline \"two\", end", cells["prompt"]);
        Assert.Equal(" padded ", cells["completion"]);
        Assert.Equal("r1", cells["request_id"]);
        Assert.Equal("2025-03-10T09:30:00.000000Z", cells["timestamp"]);
        Assert.Equal("0.0012", cells["cost_usd"]);
        Assert.Equal("100", cells["input_tokens"]);
        Assert.Equal("", cells["cached_input_tokens"]);
        Assert.Equal("120", cells["time_to_first_byte_ms"]);
        Assert.Equal("850", cells["duration_ms"]);
    }

    [Fact]
    public async Task Text_a_spreadsheet_would_run_as_a_formula_is_defused()
    {
        var rows = Parse(await ExportAsync(false, UsageRecords.Make("r1", key: "=HYPERLINK(\"http://evil\")", model: "@SUM(A1)")));

        var cells = rows[0].Zip(rows[1]).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal("'=HYPERLINK(\"http://evil\")", cells["key_name"]);
        Assert.Equal("'@SUM(A1)", cells["requested_model"]);
    }

    [Fact]
    public async Task Content_columns_appear_only_when_asked_for()
    {
        var csv = await ExportAsync(false, UsageRecords.Make("r1") with { Prompt = "secret plans" });

        Assert.DoesNotContain("prompt", Parse(csv)[0]);
        Assert.DoesNotContain("secret plans", csv, StringComparison.Ordinal);
        Assert.EndsWith("\r\n", csv, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_attempts_column_counts_each_records_upstream_attempts()
    {
        var failed = new UsageAttempt { Provider = "=openai", UpstreamModel = "gpt-5.5", StatusCode = 503, Latency = TimeSpan.FromMilliseconds(40) };
        var answered = new UsageAttempt { Provider = "azure", UpstreamModel = "gpt55-prod", StatusCode = 200, Latency = TimeSpan.FromMilliseconds(90) };

        var rows = Parse(await ExportAsync(
            true,
            UsageRecords.Make("none", provider: null, status: 401),
            UsageRecords.Make("one", UsageRecords.Day1.AddSeconds(1)) with { Attempts = [answered] },
            UsageRecords.Make("two", UsageRecords.Day1.AddSeconds(2)) with { Attempts = [failed, answered] }));

        var column = Array.IndexOf(rows[0], "attempts");
        Assert.Equal(column + 1, Array.IndexOf(rows[0], "prompt")); // after the record's own columns, before the content
        Assert.Equal(["0", "1", "2"], rows.Skip(1).Select(r => r[column]));
        Assert.All(rows.Skip(1), r => Assert.Equal(rows[0].Length, r.Length));
    }
}
