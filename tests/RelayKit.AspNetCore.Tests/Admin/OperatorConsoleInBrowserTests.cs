using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.Testing;
using RelayKit.Tests.Shared;
using static Microsoft.Playwright.Assertions;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>
/// The operator console in headless Chromium against the relay on a real loopback port (the fake behind it): every
/// step is checked again through the operations API, so what the page shows is what the ledger and the usage store hold.
/// </summary>
public sealed class OperatorConsoleInBrowserTests
{
    private const string AdminKey = "rk-admin-console-test-5c1e9b";
    private const string Hostile = "<script>window.pwned=1</script>\"quoted' \r\nsecond line";
    // The relay refuses a model name with control characters before it records anything; the key's name carries CR/LF.
    private const string HostileModel = "<img src=x onerror=\"window.pwned=2\">'&amp;";
    [SkippableFact]
    public async Task An_operator_signs_in_creates_a_key_tops_it_up_reads_its_usage_exports_it_refunds_it_and_revokes_another()
    {
        var chromium = TestServers.RequireChromium();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        var fakeBase = await fake.StartAsync();
        await using var app = await StartRelayAsync(fakeBase);
        var relay = new Uri(app.Urls.First());
        using var http = new HttpClient { BaseAddress = relay };
        using var admin = new HttpClient { BaseAddress = relay };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);

        await using var chromiumBrowser = await PageBrowser.LaunchAsync(chromium);
        var browser = chromiumBrowser.Browser;
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        var response = await page.GotoAsync(new Uri(relay, "relay/admin/console").AbsoluteUri);
        Assert.Equal(200, response!.Status);

        // A wrong key is refused by the API and shown as an error; nothing is kept.
        await page.FillAsync("#admin-key", "not-the-admin-key");
        await page.ClickAsync("#login-form button[type=submit]");
        await Expect(page.Locator("#login-error")).ToContainTextAsync("not the admin key");
        Assert.True(await page.Locator("#app").IsHiddenAsync());
        Assert.Equal(0, await page.EvaluateAsync<int>("sessionStorage.length"));

        // The right key: kept in this tab's sessionStorage only, never in the DOM, a cookie or localStorage.
        await page.FillAsync("#admin-key", AdminKey);
        await page.ClickAsync("#login-form button[type=submit]");
        await Expect(page.Locator("#keys-status")).ToHaveTextAsync("0 keys");
        Assert.Equal(AdminKey, await page.EvaluateAsync<string>("sessionStorage.getItem('relaykit-admin-key')"));
        Assert.Equal(1, await page.EvaluateAsync<int>("sessionStorage.length"));
        Assert.Equal(0, await page.EvaluateAsync<int>("localStorage.length"));
        Assert.Equal("", await page.EvaluateAsync<string>("document.cookie"));
        Assert.Empty(await context.CookiesAsync());
        Assert.Equal("", await page.InputValueAsync("#admin-key"));
        Assert.DoesNotContain(AdminKey, await page.ContentAsync(), StringComparison.Ordinal);

        // Create: the secret is shown once, and is gone from the page when the box is closed.
        await page.FillAsync("#create-name", "ann");
        await page.FillAsync("#create-models", "gpt-*");
        await page.FillAsync("#create-credit", "2");
        await page.ClickAsync("#create-form button[type=submit]");
        await Expect(page.Locator("#secret-card")).ToBeVisibleAsync();
        var secret = await page.Locator("#new-secret").TextContentAsync();
        var id = await page.Locator("#new-key-id").TextContentAsync();
        Assert.Matches("^rk-[A-Za-z0-9]{40}$", secret);
        Assert.DoesNotContain(secret!, await page.EvaluateAsync<string>("JSON.stringify(Object.entries(sessionStorage))"), StringComparison.Ordinal);
        await page.ClickAsync("#secret-done");
        Assert.DoesNotContain(secret!, await page.ContentAsync(), StringComparison.Ordinal);
        var row = page.Locator($"#keys tbody tr[data-id=\"{id}\"]");
        await Expect(row.Locator("td.balance")).ToHaveTextAsync("$2.00");
        await Expect(row.Locator("td.state")).ToHaveTextAsync("active");

        // The new key works on the relay over real HTTP.
        var (status, _, _) = await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"hello console"}]}""", bearer: secret);
        Assert.Equal(200, status);
        var record = Assert.Single(await PageBrowser.WaitForRecordsAsync(app.Services.GetRequiredService<IUsageStore>(), 1));
        Assert.True(record.Cost > 0m);

        // Top up with a reference; the ledger holds exactly the credit, the top-up and the charge.
        await row.Locator("button[data-action=topup]").ClickAsync();
        await page.FillAsync("#topup-amount", "3.5");
        await page.FillAsync("#topup-reference", "payment-0001");
        await page.ClickAsync("#topup-form button[type=submit]");
        await Expect(page.Locator("#message")).ToContainTextAsync("Top-up applied");
        var balance = await BalanceAsync(admin, id!);
        Assert.Equal(2m + 3.5m - record.Cost, balance.GetProperty("balance").GetDecimal());
        var ledger = (await admin.GetFromJsonAsync<JsonElement>($"relay/admin/keys/{id}/ledger")).GetProperty("entries").EnumerateArray().ToList();
        var topUp = Assert.Single(ledger, e => Reference(e) == "payment-0001");
        Assert.Equal(3.5m, topUp.GetProperty("amount").GetDecimal());
        await Expect(row.Locator("td.balance")).ToHaveTextAsync(Usd(2m + 3.5m - record.Cost));
        await Expect(row.Locator("td.spent")).ToHaveTextAsync(Usd(record.Cost));
        await Expect(row.Locator("td.reserved")).ToHaveTextAsync("$0.00");

        // Usage, filtered to the key, shows the request, and the spend chart draws its cost.
        await page.FillAsync("#filter-key", id!);
        await page.ClickAsync("#filter-form button[type=submit]");
        var usageRows = page.Locator("#usage tbody tr");
        await Expect(usageRows).ToHaveCountAsync(1);
        Assert.Equal(record.RequestId, await usageRows.First.GetAttributeAsync("data-request-id"));
        Assert.Equal(id, await usageRows.First.Locator("td.key").TextContentAsync());
        Assert.Equal("gpt-5.5", await usageRows.First.Locator("td.model").TextContentAsync());
        Assert.Equal(Usd(record.Cost), await usageRows.First.Locator("td.cost").TextContentAsync());
        var keyBar = page.Locator($"#spend-by-key .bar-row[data-name=\"{id}\"]");
        await Expect(keyBar).ToHaveCountAsync(1);
        Assert.Equal(record.Cost, decimal.Parse((await keyBar.GetAttributeAsync("data-cost"))!, NumberStyles.Float, CultureInfo.InvariantCulture));
        Assert.Equal(1, await page.Locator("#spend-by-day rect.bar").CountAsync());

        // CSV: the download is what the API exports for the same filter, the one record.
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#export-csv"));
        Assert.Equal("relaykit-usage.csv", download.SuggestedFilename);
        var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        Assert.Equal(await admin.GetStringAsync($"relay/admin/usage?key={id}&format=csv"), csv);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith(record.RequestId + ",", lines[1], StringComparison.Ordinal);
        Assert.Contains($",{id},gpt-5.5,", lines[1], StringComparison.Ordinal);

        // Hostile names: a key and a model whose names are markup, quotes and line breaks render as text.
        var hostile = await admin.PostAsJsonAsync("relay/admin/keys", new { name = Hostile, credit = 1m });
        Assert.Equal(HttpStatusCode.Created, hostile.StatusCode);
        var hostileKey = await hostile.Content.ReadFromJsonAsync<JsonElement>();
        var hostileId = hostileKey.GetProperty("id").GetString()!;
        var hostileSecret = hostileKey.GetProperty("secret").GetString()!;
        var unknownModel = await RawRelayCall.PostAsync(http, "v1/chat/completions",
            JsonSerializer.Serialize(new { model = HostileModel, messages = new[] { new { role = "user", content = "hi" } } }), bearer: hostileSecret);
        Assert.Equal(404, unknownModel.Status);
        await PageBrowser.WaitForRecordsAsync(app.Services.GetRequiredService<IUsageStore>(), 2);
        await page.FillAsync("#filter-key", "");
        await page.ClickAsync("#refresh");
        var hostileRow = page.Locator($"#keys tbody tr[data-id=\"{hostileId}\"]");
        await Expect(hostileRow).ToHaveCountAsync(1);
        await Expect(usageRows).ToHaveCountAsync(2);
        Assert.Equal(Hostile, await hostileRow.Locator("td.name").TextContentAsync());
        Assert.Equal(HostileModel, await page.Locator($"#usage tbody tr td.model").First.TextContentAsync());
        Assert.Equal(HostileModel, await page.Locator("#spend-by-model .bar-row .label").Last.TextContentAsync());
        Assert.Equal(0, await page.Locator("#app script, #app img").CountAsync());
        Assert.Equal("undefined", await page.EvaluateAsync<string>("typeof window.pwned"));

        // The screenshot in the README: keys, usage and spend with real data.
        var screenshot = PageBrowser.ScreenshotPath("console.png");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);

        // Refund and close ann: the paid balance comes back exactly and the key is closed.
        var before = (await BalanceAsync(admin, id!)).GetProperty("balance").GetDecimal();
        await row.Locator("button[data-action=refund]").ClickAsync();
        await page.FillAsync("#refund-reference", "refund-0001");
        await page.ClickAsync("#refund-form button[type=submit]");
        await Expect(page.Locator("#message")).ToContainTextAsync("Refund applied");
        await Expect(row.Locator("td.state")).ToHaveTextAsync("closed");
        var closed = await BalanceAsync(admin, id!);
        Assert.True(closed.GetProperty("closed").GetBoolean());
        Assert.Equal(0m, closed.GetProperty("balance").GetDecimal());
        var refund = Assert.Single((await admin.GetFromJsonAsync<JsonElement>($"relay/admin/keys/{id}/ledger")).GetProperty("entries").EnumerateArray(),
            e => Reference(e) == "refund-0001");
        Assert.Equal(before, Math.Abs(refund.GetProperty("amount").GetDecimal()));
        Assert.Contains(Usd(before), await page.Locator("#message").TextContentAsync(), StringComparison.Ordinal);

        // Revoke the hostile key: the relay refuses it from then on.
        await hostileRow.Locator("button[data-action=revoke]").ClickAsync();
        await page.ClickAsync("#revoke-form button[type=submit]");
        await Expect(hostileRow.Locator("td.state")).ToHaveTextAsync("revoked");
        var afterRevoke = await RawRelayCall.PostAsync(http, "v1/chat/completions",
            """{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}""", bearer: hostileSecret);
        Assert.Equal(401, afterRevoke.Status);
        Assert.Equal("revoked", (await admin.GetFromJsonAsync<JsonElement>($"relay/admin/keys/{hostileId}")).GetProperty("state").GetString());

        // Sign out forgets the key and clears what was shown.
        Assert.DoesNotContain(AdminKey, await page.ContentAsync(), StringComparison.Ordinal);
        await page.ClickAsync("#sign-out");
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('relaykit-admin-key')"));
        Assert.True(await page.Locator("#app").IsHiddenAsync());
        Assert.Equal(0, await page.Locator("#keys tbody tr").CountAsync());
        await app.StopAsync();
    }

    [SkippableFact]
    public async Task On_a_phone_in_dark_mode_the_console_fits_the_screen_and_a_reload_keeps_the_tab_signed_in()
    {
        var chromium = TestServers.RequireChromium();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        await using var app = await StartRelayAsync(await fake.StartAsync());
        var relay = new Uri(app.Urls.First());
        using var admin = new HttpClient { BaseAddress = relay };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using var created = await admin.PostAsJsonAsync("relay/admin/keys", new { name = "a-rather-long-key-name-for-a-small-screen", credit = 1m });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        await using var chromiumBrowser = await PageBrowser.LaunchAsync(chromium);
        var browser = chromiumBrowser.Browser;
        var context = await browser.NewContextAsync(new()
        {
            ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true, ColorScheme = ColorScheme.Dark,
        });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(relay, "relay/admin/console").AbsoluteUri);
        await page.FillAsync("#admin-key", AdminKey);
        await page.ClickAsync("#login-form button[type=submit]");
        await Expect(page.Locator("#keys-status")).ToHaveTextAsync("1 key");

        // The page is as wide as the phone: wide tables scroll inside their own box, not the page.
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"),
            "the page scrolls sideways on a phone");
        Assert.Equal("rgb(13, 17, 23)", await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor"));

        // A reload of the same tab carries on with the key it kept.
        await page.ReloadAsync();
        await Expect(page.Locator("#keys-status")).ToHaveTextAsync("1 key");
        Assert.True(await page.Locator("#login").IsHiddenAsync());
        await app.StopAsync();
    }

    [SkippableFact]
    public async Task With_scripts_off_the_console_and_the_billing_page_say_they_need_them_instead_of_a_form_that_does_nothing()
    {
        var chromium = TestServers.RequireChromium();
        await using var fake = new FakeUpstream(new FakeUpstreamOptions { Seed = 1 });
        await using var app = await StartRelayAsync(await fake.StartAsync());
        var relay = new Uri(app.Urls.First());
        await using var chromiumBrowser = await PageBrowser.LaunchAsync(chromium);
        await using var context = await chromiumBrowser.Browser.NewContextAsync(new() { JavaScriptEnabled = false });
        var page = await context.NewPageAsync();

        foreach (var (path, says) in new[] { ("relay/admin/console", "The console needs JavaScript"), ("relay/usage", "This page needs JavaScript") })
        {
            var response = await page.GotoAsync(new Uri(relay, path).AbsoluteUri);
            Assert.Equal(200, response!.Status);
            await Expect(page.Locator("#no-script")).ToBeVisibleAsync();
            await Expect(page.Locator("#no-script")).ToContainTextAsync(says);
        }

        await app.StopAsync();
    }

    private static async Task<WebApplication> StartRelayAsync(Uri fakeBase)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var settings = RelaySettings.Create(new Uri(fakeBase, "v1"), fakeBase)
            .With("ModelRelay:Admin:Key", AdminKey)
            .With("ModelRelay:Models:gpt-5.5:Price:Input", "3")
            .With("ModelRelay:Models:gpt-5.5:Price:Output", "15");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddModelRelay().AddAdmin();
        var app = builder.Build();
        app.MapModelRelay();
        app.MapModelRelayAdmin();
        await app.StartAsync();
        return app;
    }

    private static string? Reference(JsonElement entry) => entry.TryGetProperty("reference", out var reference) ? reference.GetString() : null;

    private static async Task<JsonElement> BalanceAsync(HttpClient admin, string id) =>
        await admin.GetFromJsonAsync<JsonElement>($"relay/admin/keys/{id}/balance");

    /// <summary>US dollars as the console writes them (two to six decimals, halves away from zero).</summary>
    private static string Usd(decimal amount) =>
        "$" + Math.Round(amount, 6, MidpointRounding.AwayFromZero).ToString("#,##0.00####", CultureInfo.InvariantCulture);
}
