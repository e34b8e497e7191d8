using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>How an upstream attempt gets into the usage record, and how the record keeps it on the way to a store.</summary>
public sealed class UsageAttemptsTests
{
    private static readonly UsageAttempt Failed = new() { Provider = "openai", UpstreamModel = "gpt-5.5", StatusCode = 503, Latency = TimeSpan.FromMilliseconds(40) };
    private static readonly UsageAttempt Answered = new() { Provider = "azure", UpstreamModel = "gpt55-prod", StatusCode = 200, Latency = TimeSpan.FromMilliseconds(90) };

    [Fact]
    public void Attempts_that_answered_or_failed_are_added_in_order_and_one_its_breaker_refused_is_not()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 8, 0, 0, TimeSpan.Zero));
        var health = new UpstreamHealthTracker(time, new StaticOptionsMonitor<UpstreamHealthOptions>(new UpstreamHealthOptions()));
        using var context = new RelayRequestContext(new DefaultHttpContext(), RelayOperation.ChatCompletions, WireFormat.OpenAI, "req_attempts", time.GetUtcNow());

        using (var answered = new UpstreamAttempt(health, time, context, "openai", "gpt-5.5", null, "gpt-5.5"))
        {
            time.Advance(TimeSpan.FromMilliseconds(40));
            answered.Answered(503);
            time.Advance(TimeSpan.FromMilliseconds(5)); // reading the held error body: not part of the latency
            answered.Ended(completed: true, clientAborted: false);
        }

        using (new UpstreamAttempt(health, time, context, "azure", "gpt55-prod", null, "gpt55-prod"))
        {
            // The breaker refused it: the forwarder neither sent it nor reported an outcome, only disposed it.
        }

        using (var timedOut = new UpstreamAttempt(health, time, context, "azure", "gpt55-prod", null, "gpt55-prod"))
        {
            time.Advance(TimeSpan.FromSeconds(30));
            timedOut.Failed(RelayError.UpstreamTimeout("azure"));
        }

        using (var unreachable = new UpstreamAttempt(health, time, context, "openai", "gpt-5.5", null, "gpt-5.5"))
        {
            time.Advance(TimeSpan.FromMilliseconds(3));
            unreachable.Failed(RelayError.UpstreamUnreachable("openai"));
        }

        using (var broken = new UpstreamAttempt(health, time, context, "openai", "gpt-5.5", null, "gpt-5.5"))
        {
            // No answer and no error, but the caller is still there: the relay's own failure, not the caller's.
            time.Advance(TimeSpan.FromMilliseconds(2));
            broken.Failed(null);
        }

        using (var abandoned = new UpstreamAttempt(health, time, context, "openai", "gpt-5.5", null, "gpt-5.5"))
        {
            time.Advance(TimeSpan.FromMilliseconds(7));
            context.ClientAborted = true;
            abandoned.Failed(null);
        }

        Assert.Equal(
        [
            new UsageAttempt { Provider = "openai", UpstreamModel = "gpt-5.5", StatusCode = 503, Latency = TimeSpan.FromMilliseconds(40) },
            new UsageAttempt { Provider = "azure", UpstreamModel = "gpt55-prod", ErrorType = "upstream_timeout", Latency = TimeSpan.FromSeconds(30) },
            new UsageAttempt { Provider = "openai", UpstreamModel = "gpt-5.5", ErrorType = "upstream_unreachable", Latency = TimeSpan.FromMilliseconds(3) },
            new UsageAttempt { Provider = "openai", UpstreamModel = "gpt-5.5", ErrorType = "relay_error", Latency = TimeSpan.FromMilliseconds(2) },
            new UsageAttempt { Provider = "openai", UpstreamModel = "gpt-5.5", ErrorType = "client_aborted", Latency = TimeSpan.FromMilliseconds(7) },
        ],
            context.Attempts);
    }

    [Fact]
    public void A_context_without_attempts_has_none_and_one_with_a_single_attempt_has_it()
    {
        using var context = new RelayRequestContext(new DefaultHttpContext(), RelayOperation.ChatCompletions, WireFormat.OpenAI, "req_one", DateTimeOffset.UnixEpoch);
        Assert.Empty(context.Attempts);

        context.AddAttempt(Answered);

        Assert.Same(Answered, Assert.Single(context.Attempts));
    }

    [Fact]
    public void Records_compare_by_their_attempts_which_are_a_copy()
    {
        var given = new List<UsageAttempt> { Failed, Answered };
        var record = UsageRecords.Make("r1") with { Attempts = given };
        given.Clear();

        Assert.Equal([Failed, Answered], record.Attempts);
        Assert.Equal(record, UsageRecords.Make("r1") with { Attempts = [Failed with { }, Answered with { }] });
        Assert.Equal(record.GetHashCode(), (UsageRecords.Make("r1") with { Attempts = [Failed, Answered] }).GetHashCode());
        Assert.NotEqual(record, UsageRecords.Make("r1") with { Attempts = [Answered, Failed] });
        Assert.NotEqual(record, UsageRecords.Make("r1") with { Attempts = [Failed] });
        Assert.Empty(UsageRecords.Make("r2").Attempts);
        Assert.Empty((UsageRecords.Make("r2") with { Attempts = null! }).Attempts);
        Assert.Equal(UsageRecords.Make("r2"), UsageRecords.Make("r2") with { Attempts = [] });
    }

    [Fact]
    public void The_usage_outbox_keeps_the_attempts_and_reads_a_record_written_before_them_with_none()
    {
        var record = UsageRecords.Make("r1", provider: "azure") with { Attempts = [Failed, Answered] };

        Assert.Equal(record, UsageOutboxJson.DeserializeRecord(UsageOutboxJson.Serialize(record)));

        // An outbox row (or a spooled settle) written by the relay before records had attempts.
        var before = JsonNode.Parse(UsageOutboxJson.Serialize(record))!.AsObject();
        Assert.True(before.Remove("Attempts"));
        var read = UsageOutboxJson.DeserializeRecord(before.ToJsonString());
        Assert.Empty(read.Attempts);
        Assert.Equal(record with { Attempts = [] }, read);
    }

    [Fact]
    public void The_stores_json_escapes_awkward_names_and_reads_back_what_it_wrote()
    {
        var attempts = new[]
        {
            new UsageAttempt { Provider = "</script><b>x</b>", UpstreamModel = "a\"b\\c\u0000d\ne", StatusCode = 503, Latency = TimeSpan.FromMilliseconds(1.5) },
            new UsageAttempt { Provider = "azure", UpstreamModel = "модель 🔑", ErrorType = "upstream_unreachable", Latency = TimeSpan.FromSeconds(2) },
        };

        var json = UsageAttemptsJson.Write(attempts)!;

        Assert.DoesNotContain("<", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\0", json, StringComparison.Ordinal);
        Assert.Equal(2, JsonNode.Parse(json)!.AsArray().Count);
        Assert.Equal(attempts, UsageAttemptsJson.Read(json));
        Assert.Null(UsageAttemptsJson.Write([]));
        Assert.Empty(UsageAttemptsJson.Read(null));
    }

    [Fact]
    public async Task A_secret_in_an_attempts_model_name_is_redacted_before_the_record_is_kept()
    {
        var providerKey = TestSecrets.Key("sk-proj", "Attempts");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddRelayUsage(o => o.Store = UsageStoreKind.InMemory);
        using var host = builder.Build();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();
        var clean = UsageRecords.Make("clean") with { Attempts = [Failed, Answered] };
        var leaky = UsageRecords.Make("leaky") with { Attempts = [Failed, Answered with { UpstreamModel = "gpt-" + providerKey }] };

        var kept = recorder.Sanitize(leaky);

        Assert.Same(clean, recorder.Sanitize(clean));
        Assert.Equal(Failed, kept.Attempts[0]);
        Assert.Equal("gpt-" + SecretScrubber.Redacted, kept.Attempts[1].UpstreamModel);
        Assert.DoesNotContain(providerKey, kept.ToString(), StringComparison.Ordinal);
    }
}
