using RelayKit.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Usage;

public sealed class UsageRecorderTests
{
    private static readonly string RelayKey = TestSecrets.Key("rk-live", "Recorder");
    private static readonly string ProviderKey = TestSecrets.Key("sk-proj", "Recorder");

    private static async Task<(IHost Host, IUsageStore Store)> StartAsync(Action<UsageOptions> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddFakeLogging();
        builder.Services.AddRelayUsage(o => { o.Store = UsageStoreKind.InMemory; configure(o); });
        var host = builder.Build();
        await host.StartAsync();
        return (host, host.Services.GetRequiredService<IUsageStore>());
    }

    [Fact]
    public async Task Prompts_and_completions_are_dropped_unless_recording_content_is_on()
    {
        var (host, store) = await StartAsync(_ => { });
        using (host)
        {
            await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(
                UsageRecords.Make("r1") with { Prompt = "my medical history", Completion = "advice" });
            await host.StopAsync();
        }

        var stored = Assert.Single((await store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);
        Assert.Null(stored.Prompt);
        Assert.Null(stored.Completion);
        Assert.Equal(100, stored.InputTokens);
    }

    [Fact]
    public async Task Recorded_content_is_cut_to_the_configured_length()
    {
        var (host, store) = await StartAsync(o => { o.RecordContent = true; o.MaxContentLength = 5; });
        using (host)
        {
            await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(
                UsageRecords.Make("r1") with { Prompt = "hello world", Completion = "hi" });
            await host.StopAsync();
        }

        var stored = Assert.Single((await store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records);
        Assert.Equal("hello", stored.Prompt);
        Assert.Equal("hi", stored.Completion);
    }

    [Fact]
    public async Task No_secret_reaches_a_record_a_log_line_or_the_CSV()
    {
        var (host, store) = await StartAsync(o => o.RecordContent = true);
        FakeLogCollector logs;
        using (host)
        {
            logs = host.Services.GetFakeLogCollector();

            // The ways a secret could slip in: pasted into a prompt, echoed in a completion, or a key
            // whose name was set to the key itself.
            await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(UsageRecords.Make("r1", key: "team-a") with
            {
                Prompt = $"my key is {RelayKey}, use it",
                Completion = $"Authorization: Bearer {ProviderKey}",
            });
            await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(UsageRecords.Make("r2", key: RelayKey) with
            {
                ErrorType = "invalid_api_key " + ProviderKey,
            });
            await host.StopAsync();
        }

        var records = (await store.QueryAsync(UsageFilter.All, 0, 10, CancellationToken.None)).Records;
        using var csv = new StringWriter();
        await UsageCsv.WriteAsync(store.ReadAsync(UsageFilter.All, CancellationToken.None), csv, includeContent: true, CancellationToken.None);
        var logLines = logs.GetSnapshot()
            .SelectMany(r => new[] { r.Message }.Concat(r.StructuredState?.Select(kv => kv.Value ?? "") ?? []))
            .ToList();

        Assert.Equal(2, records.Count);
        Assert.Contains(logLines, line => line.Contains("team-a", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Prompt == "my key is [redacted], use it");
        foreach (var secret in new[] { RelayKey, ProviderKey, "7Hq2mZx9Lp4Tn8Vb3Kd6" })
        {
            Assert.DoesNotContain(records, r => r.ToString().Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(logLines, line => line.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, csv.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Each_request_writes_one_structured_log_event()
    {
        var (host, _) = await StartAsync(_ => { });
        using (host)
        {
            await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(
                UsageRecords.Make("req-42", model: "gpt-4o", input: 321, output: 54, cost: 0.0042m) with
                {
                    Streamed = true,
                    Attempts =
                    [
                        new UsageAttempt { Provider = "azure", UpstreamModel = "gpt-4o", ErrorType = "upstream_timeout" },
                        new UsageAttempt { Provider = "openai", UpstreamModel = "gpt-4o", StatusCode = 200 },
                    ],
                });
            await host.StopAsync();

            var entry = Assert.Single(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Name == "RelayUsage");
            Assert.Equal(LogLevel.Information, entry.Level);
            Assert.Equal("req-42", entry.GetStructuredStateValue("RequestId"));
            Assert.Equal("team-a", entry.GetStructuredStateValue("KeyName"));
            Assert.Equal("gpt-4o", entry.GetStructuredStateValue("RequestedModel"));
            Assert.Equal("openai", entry.GetStructuredStateValue("Provider"));
            Assert.Equal("321", entry.GetStructuredStateValue("InputTokens"));
            Assert.Equal("54", entry.GetStructuredStateValue("OutputTokens"));
            Assert.Equal("0.0042", entry.GetStructuredStateValue("Cost"));
            Assert.Equal("True", entry.GetStructuredStateValue("Streamed"));
            Assert.Equal("850", entry.GetStructuredStateValue("DurationMs"));
            Assert.Equal("2", entry.GetStructuredStateValue("Attempts"));
        }
    }

    [Fact]
    public async Task Options_are_validated_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddRelayUsage(o => { o.Store = UsageStoreKind.PostgreSql; o.BatchSize = 0; o.FlushInterval = TimeSpan.FromSeconds(11); });
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(error.Failures, f => f.Contains("PostgreSqlConnectionString", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("BatchSize", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("FlushInterval", StringComparison.Ordinal));
    }
}
