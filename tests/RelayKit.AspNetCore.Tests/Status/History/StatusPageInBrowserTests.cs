using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using RelayKit.AspNetCore.Status.History;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Status.History;

/// <summary>The status page in headless Chromium: after traffic and a restart (SQLite), with scripts off, and its screenshot for the README.</summary>
public sealed class StatusPageInBrowserTests
{
    private static async Task<WebApplication> StartAsync(Uri fakeBase, string usageFile)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(
            RelaySettings.Create(new Uri(fakeBase, "v1"), fakeBase).With("ModelRelay:Models:gpt-4o:Provider", "openai")
                .With("ModelRelay:Usage:Store", "Sqlite").With("ModelRelay:Usage:SqlitePath", usageFile));
        builder.Services.AddModelRelay();
        var app = builder.Build();
        app.MapModelRelay();
        await app.StartAsync();
        return app;
    }

    [SkippableFact]
    public async Task The_page_shows_the_history_after_a_restart_with_and_without_scripts()
    {
        var chromium = TestServers.RequireChromium();
        var usageFile = Path.Combine(Path.GetTempPath(), "relaykit-status-" + Guid.NewGuid().ToString("N"), "usage.db");
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        var fakeBase = await fake.StartAsync();

        // First run: traffic and 90 seeded days; stopping writes the last counts.
        await using (var first = await StartAsync(fakeBase, usageFile))
        {
            using var http = new HttpClient { BaseAddress = new Uri(first.Urls.First()) };
            for (var i = 0; i < 4; i++)
            {
                var (status, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
                    """{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}""", bearer: RelaySettings.AliceKey);
                Assert.Equal(200, status);
            }

            await StatusPageTests.SeedAsync(first.Services.GetRequiredService<IStatusStore>(), first.Services.GetRequiredService<TimeProvider>().GetUtcNow(), "<b>\"gpt\"</b>");
            await first.StopAsync();
        }

        await using var app = await StartAsync(fakeBase, usageFile);
        var relay = new Uri(app.Urls.First());
        await using var chromiumBrowser = await PageBrowser.LaunchAsync(chromium);
        var browser = chromiumBrowser.Browser;
        foreach (var scripts in new[] { true, false })
        {
            await using var context = await browser.NewContextAsync(new() { JavaScriptEnabled = scripts, ViewportSize = new() { Width = 900, Height = 900 } });
            var page = await context.NewPageAsync();
            var response = await page.GotoAsync(new Uri(relay, "relay/status").AbsoluteUri);
            Assert.Equal(200, response!.Status);
            Assert.Equal("All Systems Operational", await page.Locator("#banner").InnerTextAsync());
            var gpt = page.Locator(".component.model").Filter(new() { Has = page.Locator(".name", new() { HasTextString = "gpt-4o" }) });
            Assert.Contains("24 h: 100%", await gpt.Locator(".figures").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(90, await gpt.Locator(".bars span").CountAsync());
            Assert.Equal("<b>\"gpt\"</b>", await page.Locator(".component.model .name").Filter(new() { HasTextString = "<b>" }).InnerTextAsync());
            Assert.Equal(0, await page.Locator(".component b").CountAsync());
            Assert.Contains("90 d: 98.89%", await page.Locator(".component.model").Filter(new() { HasTextString = "<b>" }).Locator(".figures").InnerTextAsync(), StringComparison.Ordinal);
            if (scripts)
            {
                var shot = PageBrowser.ScreenshotPath("status.png");
                await page.ScreenshotAsync(new() { Path = shot, FullPage = true });
                Assert.True(new FileInfo(shot).Length > 1000);
            }
        }

        await app.StopAsync();
    }

    [SkippableFact]
    public async Task New_traffic_appears_on_an_open_page_without_a_reload()
    {
        var chromium = TestServers.RequireChromium();
        var usageFile = Path.Combine(Path.GetTempPath(), "relaykit-status-" + Guid.NewGuid().ToString("N"), "usage.db");
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        await using var app = await StartAsync(await fake.StartAsync(), usageFile);
        var relay = new Uri(app.Urls.First());
        await using var chromiumBrowser = await PageBrowser.LaunchAsync(chromium);
        await using var context = await chromiumBrowser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(relay, "relay/status").AbsoluteUri);
        const string Attempts = "tr.upstream[data-name=\"openai\"] td.attempts";
        const string Uptime = ".component.model[data-id] .uptime[data-window=\"24 h\"]";
        Assert.Equal("0", await page.Locator(Attempts).InnerTextAsync());
        Assert.Equal("24 h: —", await page.Locator(Uptime).First.InnerTextAsync());

        // A mark on this document: a reload would lose it, a refresh in place keeps it.
        await page.EvaluateAsync("() => { window.relaykitMark = 'kept'; }");
        using (var http = new HttpClient { BaseAddress = relay })
        {
            for (var i = 0; i < 3; i++)
            {
                var (status, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
                    """{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}""", bearer: RelaySettings.AliceKey);
                Assert.Equal(200, status);
            }
        }

        // The page refreshes every 10 s and the history is written every 5 s: wait for both, up to a deadline.
        var gpt = page.Locator(".component.model").Filter(new() { Has = page.Locator(".name", new() { HasTextString = "gpt-4o" }) });
        await page.WaitForFunctionAsync(
            "s => document.querySelector(s)?.textContent === '3'", Attempts, new() { Timeout = 60_000, PollingInterval = 250 });
        await Assertions.Expect(gpt.Locator(".uptime[data-window=\"24 h\"]")).ToHaveTextAsync("24 h: 100%", new() { Timeout = 60_000 });
        Assert.Equal("kept", await page.EvaluateAsync<string>("() => window.relaykitMark"));
        await app.StopAsync();
    }
}
