using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.Testing;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Usage;

/// <summary>
/// The billing part of <c>/relay/usage</c> in headless Chromium, against the relay on a real loopback port with the fake
/// behind it: a key with credit spends, is topped up, and reads it all in its own time zone.
/// </summary>
public sealed class BillingPageInBrowserTests
{
    // The relay refuses control characters in a model name (invalid_type), so CR/LF are tried in the policy text.
    private const string HostileModel = "gpt-<script>alert(\"m\")</script>'x";
    private const string HostilePolicy = "Refunds within 14 days of a top-up.\r\nWrite to <script>alert(\"p\")</script> & 'billing'\nThanks";
    private const string TimeZone = "Asia/Tokyo";

    [SkippableFact]
    public async Task A_topped_up_key_sees_its_balance_top_up_spend_and_the_policy_as_text_in_its_own_time_zone()
    {
        var chromium = TestServers.RequireChromium();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        var fakeBase = await fake.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(RelaySettings.Create(new Uri(fakeBase, "v1"), fakeBase)
            .With("ModelRelay:Models:gpt-4o:Provider", "openai")
            .With($"ModelRelay:Models:{HostileModel}:Provider", "openai")
            .With($"ModelRelay:Models:{HostileModel}:UpstreamModel", "gpt-4o")
            .With($"ModelRelay:Models:{HostileModel}:Price:Input", "3")
            .With($"ModelRelay:Models:{HostileModel}:Price:Output", "30")
            .With("ModelRelay:Keys:0:Budget", "1")
            .With("ModelRelay:Billing:RefundPolicy", HostilePolicy));
        builder.Services.AddModelRelay();
        await using var app = builder.Build();
        app.MapModelRelay();
        await app.StartAsync();
        var relay = new Uri(app.Urls.First());
        using var http = new HttpClient { BaseAddress = relay };
        foreach (var model in new[] { "gpt-4o", "gpt-4o", HostileModel })
        {
            var (status, body, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
                System.Text.Json.JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = "hello billing" } } }), bearer: RelaySettings.AliceKey);
            Assert.True(status == 200, body.ToString());
        }

        var records = await PageBrowser.WaitForRecordsAsync(app.Services.GetRequiredService<IUsageStore>(), 3);
        var ledger = app.Services.GetRequiredService<IBudgetLedger>();
        Assert.Equal(CreditStatus.Applied, (await ledger.GrantFreeCreditAsync("alice", 0.25m, "trial:alice")).Status);
        Assert.Equal(CreditStatus.Applied, (await ledger.TopUpAsync("alice", 5m, "pay_3QxT9<b>\"ref\"")).Status);
        var balance = (await ledger.GetBalanceAsync("alice"))!;
        Assert.Equal(6.25m - records.Sum(r => r.Cost), balance.Balance);
        Assert.Equal(0.25m, balance.FreeCredit);
        var topUp = (await ledger.GetCreditsAsync("alice")).Single(e => e.Reference == "pay_3QxT9<b>\"ref\"");

        await using var chromiumBrowser = await PageBrowser.LaunchAsync(chromium);
        var browser = chromiumBrowser.Browser;
        await using var context = await browser.NewContextAsync(new() { TimezoneId = TimeZone, Locale = "en-GB", ViewportSize = new() { Width = 900, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(relay, "relay/usage").AbsoluteUri);
        await page.FillAsync("#key", RelaySettings.AliceKey);
        await page.ClickAsync("#show");
        // A locator wait, not WaitForFunctionAsync, whose eval the page's CSP rightly refuses.
        await page.Locator("#status").Filter(new() { HasTextRegex = new Regex("^Loaded\\.$") }).WaitForAsync(new() { Timeout = 10_000 });

        // Balance, reserved and available, as the ledger has them.
        Assert.Equal(Money(balance.Balance), await page.InnerTextAsync("#money-balance"));
        Assert.Equal(Money(balance.Reserved), await page.InnerTextAsync("#money-reserved"));
        Assert.Equal(Money(balance.Available), await page.InnerTextAsync("#money-available"));
        Assert.Equal("$0.25", await page.InnerTextAsync("#money-free"));

        // The top-ups (the configured budget's and the payment) with their references, as text.
        var rows = page.Locator("#credits tbody tr");
        Assert.Equal(3, await rows.CountAsync());
        Assert.Equal(["initial:alice", "trial:alice", "pay_3QxT9<b>\"ref\""], await rows.Locator("td.ref").AllTextContentsAsync());
        Assert.Equal("Free credit", await page.Locator("#credits tbody tr.free_credit td").Nth(1).InnerTextAsync());
        var topUpRow = page.Locator("#credits tbody tr.top_up").Last;
        Assert.Equal("Top-up", await topUpRow.Locator("td").Nth(1).InnerTextAsync());
        Assert.Equal("$5.00", await topUpRow.Locator("td").Nth(2).InnerTextAsync());

        // Times in the viewer's zone: Tokyo's clock, never UTC's (nine hours apart).
        Assert.Equal(TimeZone, await page.InnerTextAsync("#time-zone"));
        var shown = await topUpRow.Locator("td time").InnerTextAsync();
        var tokyo = TimeZoneInfo.ConvertTime(topUp.At, TimeZoneInfo.FindSystemTimeZoneById(TimeZone));
        Assert.Contains(tokyo.ToString("HH:mm", CultureInfo.InvariantCulture), shown, StringComparison.Ordinal);
        Assert.Contains(tokyo.Day.ToString(CultureInfo.InvariantCulture), shown, StringComparison.Ordinal);
        Assert.DoesNotContain(topUp.At.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture), shown, StringComparison.Ordinal);
        var freeCredit = await page.InnerTextAsync("#free-credit");
        Assert.StartsWith("Free credit of $0.25 was given on ", freeCredit, StringComparison.Ordinal);
        Assert.Contains(await page.Locator("#credits tbody tr.free_credit td time").InnerTextAsync(), freeCredit, StringComparison.Ordinal);
        Assert.Equal(topUp.At, DateTimeOffset.Parse((await topUpRow.Locator("td time").GetAttributeAsync("datetime"))!, CultureInfo.InvariantCulture));

        // Spend by day: one bar of the whole spend; by model: one bar per model, the hostile name as text.
        var spend = records.Sum(r => r.Cost);
        var bar = page.Locator("#chart rect.bar");
        Assert.Equal(1, await bar.CountAsync());
        Assert.Equal(spend, decimal.Parse((await bar.GetAttributeAsync("data-cost"))!, CultureInfo.InvariantCulture));
        var models = page.Locator("#model-bars li");
        Assert.Equal(2, await models.CountAsync());
        var labels = await models.Locator(".label").AllTextContentsAsync();
        var values = await models.Locator(".value").AllTextContentsAsync();
        var shownSpend = labels.Zip(values).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        Assert.Equal(new[] { "gpt-4o", HostileModel }.Order(StringComparer.Ordinal), shownSpend.Keys.Order(StringComparer.Ordinal));
        foreach (var model in shownSpend.Keys)
        {
            var cost = records.Where(r => r.RequestedModel == model).Sum(r => r.Cost);
            Assert.True(cost > 0, model);
            Assert.Equal(Money(cost), shownSpend[model]);
        }

        // The operator's policy verbatim, line breaks kept, markup as text; the page's one script is its own.
        Assert.Equal(HostilePolicy.Replace("\r\n", "\n", StringComparison.Ordinal), await page.Locator("#refund-policy").TextContentAsync());
        Assert.Equal(3, (await page.Locator("#refund-policy").InnerTextAsync()).Split('\n').Length);
        Assert.Equal(1, await page.Locator("script").CountAsync());
        Assert.Equal(0, await page.Locator("#data b").CountAsync());
        Assert.DoesNotContain(RelaySettings.AliceKey, await page.ContentAsync(), StringComparison.Ordinal);

        var screenshot = PageBrowser.ScreenshotPath("billing.png");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 1000);

        // On a phone's width nothing overflows the page sideways (tables scroll inside their own box).
        await page.SetViewportSizeAsync(375, 800);
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than a phone");
        await app.StopAsync();
    }

    /// <summary>As the page's own money(): six decimals with up to four trailing zeros dropped.</summary>
    private static string Money(decimal value)
    {
        var text = value.ToString("F6", CultureInfo.InvariantCulture);
        for (var i = 0; i < 4 && text.EndsWith('0'); i++)
        {
            text = text[..^1];
        }

        return "$" + text;
    }


}
