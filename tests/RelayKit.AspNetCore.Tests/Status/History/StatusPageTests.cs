using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Status;
using RelayKit.AspNetCore.Status.History;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Status.History;

/// <summary>The status page and summary.json from the stored history: figures, the Statuspage shape, hostile names, shared PostgreSQL.</summary>
public sealed class StatusPageTests
{
    private const string Hostile = "<script>alert(1)</script>\"q'";

    private static readonly string[] ComponentFields =
        ["id", "name", "status", "created_at", "updated_at", "position", "description", "showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded"];

    private static async Task SendAsync(FakeRelay relay, int count)
    {
        using var http = relay.App.CreateClient();
        for (var i = 0; i < count; i++)
        {
            var (code, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
                """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);
            Assert.Equal(200, code);
        }
    }

    private static async Task<string> PageAsync(FakeRelay relay)
    {
        using var http = relay.App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "relay/status");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        using var response = await http.SendAsync(request);
        Assert.Contains("script-src 'nonce-", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Seeds 90 days of a model's history through the store: one good minute a day, and one down minute ten days ago.</summary>
    internal static async Task SeedAsync(IStatusStore store, DateTimeOffset now, string model)
    {
        var today = StatusResolution.Floor(StatusResolution.MinuteOf(now), StatusResolution.Day);
        var minutes = new List<StatusMinute>();
        for (var day = 1; day < 90; day++)
        {
            minutes.Add(new StatusMinute("openai", model, today - (day * 1440L) + 60, 1, 0, new long[LatencyBins.Count]));
        }

        minutes.Add(new StatusMinute("openai", model, today - (10 * 1440L) + 61, 1, 1, new long[LatencyBins.Count]));
        await store.AddAsync(minutes, [], default);
        await store.RollUpAsync(now.AddDays(-91), now, 0.5, default);
    }

    [Fact]
    public async Task The_page_and_summary_show_90_days_of_seeded_history_with_hostile_names_as_text()
    {
        await using var relay = FakeRelay.Create(s => s.With("ModelRelay:Models:gpt-4o:Provider", "openai"));
        await SendAsync(relay, 3);
        var services = relay.App.Services;
        var store = services.GetRequiredService<IStatusStore>();
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        await SeedAsync(store, now, Hostile);
        await store.AddAsync([], [new StatusIncident("i1", "openai", "", "probe", "Probes of openai failed (openai: 503)", now.AddMinutes(-30), null) { SeenAt = now }], default);
        await services.GetRequiredService<StatusHistoryWriter>().FlushAsync(default);

        var html = await PageAsync(relay);
        Assert.DoesNotContain(Hostile, html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        var hostileRow = html[html.IndexOf("&lt;script&gt;alert(1)", StringComparison.Ordinal)..];
        hostileRow = hostileRow[..hostileRow.IndexOf("class=\"axis\"", StringComparison.Ordinal)];

        // 89 good days and one with a down minute: 30 d = 29/30, 90 d = 89/90, 7 d all up; that day's bar says 50%.
        Assert.Contains("7 d: 100%", hostileRow, StringComparison.Ordinal);
        Assert.Contains("30 d: 96.67%", hostileRow, StringComparison.Ordinal);
        Assert.Contains("90 d: 98.89%", hostileRow, StringComparison.Ordinal);
        Assert.Equal(90, hostileRow.Split("title=\"").Length - 1);
        var tenDaysAgo = DateOnly.FromDateTime(now.UtcDateTime).AddDays(-10).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"class=\"b-bad\" title=\"{tenDaysAgo}: 50% uptime\"", hostileRow, StringComparison.Ordinal);

        // The live traffic: gpt-4o at openai, 3 attempts all good in the last 24 h.
        var gpt = html[html.IndexOf(">gpt-4o<", StringComparison.Ordinal)..];
        Assert.Contains("24 h: 100%", gpt[..gpt.IndexOf("class=\"axis\"", StringComparison.Ordinal)], StringComparison.Ordinal);
        Assert.Contains("Probes of openai failed (openai: 503)", html, StringComparison.Ordinal);
        Assert.Contains(", ongoing (30 min 0 s)", html, StringComparison.Ordinal);

        // summary.json, field by field against Statuspage's v2 shape.
        using var http = relay.App.CreateClient();
        var (status, body, _) = await RawRelayCall.GetAsync(http, "relay/status/summary.json");
        Assert.Equal(200, status);
        Assert.Equal(["page", "status", "components", "incidents", "scheduled_maintenances"], body.EnumerateObject().Select(p => p.Name));
        var page = body.GetProperty("page");
        Assert.Equal(["id", "name", "url", "time_zone", "updated_at"], page.EnumerateObject().Select(p => p.Name));
        Assert.EndsWith("/relay/status", page.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal("Etc/UTC", page.GetProperty("time_zone").GetString());
        Assert.True(DateTimeOffset.TryParse(page.GetProperty("updated_at").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        Assert.Contains(body.GetProperty("status").GetProperty("indicator").GetString(), new[] { "none", "minor", "major", "critical" });
        Assert.Equal("All Systems Operational", body.GetProperty("status").GetProperty("description").GetString());
        var components = body.GetProperty("components").EnumerateArray().ToList();
        Assert.All(components, c =>
        {
            Assert.Subset(c.EnumerateObject().Select(p => p.Name).ToHashSet(), ComponentFields.ToHashSet());
            Assert.Contains(c.GetProperty("status").GetString(), new[] { "operational", "degraded_performance", "partial_outage", "major_outage" });
            Assert.Equal("relaykit", c.GetProperty("page_id").GetString());
            Assert.Equal(JsonValueKind.Number, c.GetProperty("position").ValueKind);
            Assert.Equal(JsonValueKind.False, c.GetProperty("only_show_if_degraded").ValueKind);
        });
        Assert.Equal(Enumerable.Range(1, components.Count), components.Select(c => c.GetProperty("position").GetInt32()));
        var openai = components.Single(c => c.GetProperty("name").GetString() == "openai");
        Assert.True(openai.GetProperty("group").GetBoolean());
        Assert.Equal(JsonValueKind.Null, openai.GetProperty("group_id").ValueKind);
        var hostile = components.Single(c => c.GetProperty("name").GetString() == "openai / " + Hostile);
        Assert.Equal(openai.GetProperty("id").GetString(), hostile.GetProperty("group_id").GetString());
        Assert.Contains(hostile.GetProperty("id").GetString(), openai.GetProperty("components").EnumerateArray().Select(i => i.GetString()));
        var incident = Assert.Single(body.GetProperty("incidents").EnumerateArray());
        Assert.Equal("investigating", incident.GetProperty("status").GetString());
        Assert.Equal("minor", incident.GetProperty("impact").GetString());
        Assert.Equal(JsonValueKind.Null, incident.GetProperty("resolved_at").ValueKind);
        Assert.Equal(0, body.GetProperty("scheduled_maintenances").GetArrayLength());
    }

    [Fact]
    public async Task A_model_failing_in_the_last_minutes_of_an_hour_is_still_down_just_after_it()
    {
        // 12:02, and gpt-4o failed every attempt at 11:58 and 11:59 (the recent window is 5 minutes).
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 2, 0, TimeSpan.Zero));
        await using var relay = FakeRelay.Create(s => s.With("ModelRelay:Models:gpt-4o:Provider", "openai"), s => s.AddSingleton<TimeProvider>(time));
        var store = relay.App.Services.GetRequiredService<IStatusStore>();
        var now = time.GetUtcNow();
        await store.AddAsync(
            [new StatusMinute("openai", "gpt-4o", StatusResolution.MinuteOf(now) - 4, 0, 5, new long[LatencyBins.Count]),
             new StatusMinute("openai", "gpt-4o", StatusResolution.MinuteOf(now) - 3, 0, 5, new long[LatencyBins.Count])], [], default);
        await store.RollUpAsync(now.AddHours(-1), now, 0.5, default);

        var html = await PageAsync(relay);
        var gpt = html[html.IndexOf(">gpt-4o<", StringComparison.Ordinal)..];
        gpt = gpt[..gpt.IndexOf("class=\"axis\"", StringComparison.Ordinal)];
        Assert.Contains("class=\"state major_outage\"", gpt, StringComparison.Ordinal);
        Assert.Contains("health: down", gpt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_patterns_models_are_named_by_callers_so_the_public_page_counts_them_under_the_provider_only()
    {
        // gpt-* sends whatever model the caller names: a caller must not be able to write rows (text of their choosing,
        // as many as they like) onto the anonymous status page.
        await using var relay = FakeRelay.Create(s => s.With("ModelRelay:Models:gpt-*:Provider", "openai"));
        using (var http = relay.App.CreateClient())
        {
            foreach (var model in new[] { "gpt-visit-evil-example-com", "gpt-<b>junk</b>", "gpt-4o" })
            {
                var (code, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
                    $$"""{"model":{{JsonSerializer.Serialize(model)}},"messages":[{"role":"user","content":"hi"}]}""", bearer: RelaySettings.AliceKey);
                Assert.Equal(200, code);
            }
        }

        await relay.App.Services.GetRequiredService<StatusHistoryWriter>().FlushAsync(default);
        var html = await PageAsync(relay);
        Assert.DoesNotContain("evil-example", html, StringComparison.Ordinal);
        Assert.DoesNotContain("junk", html, StringComparison.Ordinal);
        using var client = relay.App.CreateClient();
        var (_, body, _) = await RawRelayCall.GetAsync(client, "relay/status/summary.json");
        var names = body.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Contains("openai", names);
        Assert.DoesNotContain(names, n => n!.Contains("evil", StringComparison.Ordinal) || n.Contains("junk", StringComparison.Ordinal) || n == "openai / gpt-4o");

        // The provider still counts every attempt.
        var now = relay.App.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        var day = Assert.Single(await relay.App.Services.GetRequiredService<IStatusStore>().ReadAsync(StatusResolution.Day, now.AddDays(-1), default));
        Assert.Equal(("", 3L), (day.Model, day.Successes));
    }

    [SkippableFact]
    public async Task Two_instances_on_one_PostgreSQL_make_one_page_which_a_restart_keeps()
    {
        var connectionString = TestServers.RequirePostgres();
        var schema = PostgreSqlTestSchema.NewName("status_page");
        void Settings(Dictionary<string, string?> s) => s.With("ModelRelay:Models:gpt-4o:Provider", "openai")
            .With("ModelRelay:Usage:Store", "PostgreSql").With("ModelRelay:Usage:PostgreSqlConnectionString", connectionString)
            .With("ModelRelay:Usage:PostgreSqlSchema", schema);
        try
        {
            await using (var first = FakeRelay.Create(Settings))
            await using (var second = FakeRelay.Create(Settings))
            {
                await SendAsync(first, 2);
                await SendAsync(second, 3);
                await first.App.Services.GetRequiredService<StatusHistoryWriter>().FlushAsync(default);

                // The second instance's counts are written as its host stops, not by a call here.
            }

            await using var restarted = FakeRelay.Create(Settings);
            var store = restarted.App.Services.GetRequiredService<IStatusStore>();
            var now = restarted.App.Services.GetRequiredService<TimeProvider>().GetUtcNow();
            await store.RollUpAsync(now.AddHours(-1), now, 0.5, default);
            var day = (await store.ReadAsync(StatusResolution.Day, now.AddDays(-1), default)).Single(d => d.Provider == "openai" && d.Model == "");
            Assert.Equal((5, 0), (day.Successes, day.Failures));
            var model = (await store.ReadAsync(StatusResolution.Day, now.AddDays(-1), default)).Single(d => d.Provider == "openai" && d.Model == "gpt-4o");
            Assert.Equal(5, model.Successes);
            var html = await PageAsync(restarted);
            Assert.Contains("24 h: 100%", html, StringComparison.Ordinal);
        }
        finally
        {
            await PostgreSqlTestSchema.DropAsync(connectionString, schema);
        }
    }
}
