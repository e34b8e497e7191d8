using Microsoft.Playwright;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>
/// What the tests of the relay's pages in headless Chromium share: launching it (the Debian package's binary, never a
/// downloaded one), where a page's screenshot for the README goes, and waiting for the usage records a page shows.
/// </summary>
internal sealed class PageBrowser : IAsyncDisposable
{
    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];

    private readonly IPlaywright _playwright;

    private PageBrowser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    /// <summary>Launches headless Chromium from <paramref name="chromium"/> (<see cref="TestServers.RequireChromium"/>).</summary>
    public static async Task<PageBrowser> LaunchAsync(string chromium)
    {
        var playwright = await Playwright.CreateAsync();
        try
        {
            return new PageBrowser(playwright, await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs }));
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Where the README's screenshot <paramref name="name"/> is written: <c>docs/screenshots/</c> of the repository.</summary>
    public static string ScreenshotPath(string name)
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "RelayKit.sln")))
            {
                var path = Path.Combine(folder.FullName, "docs", "screenshots", name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                return path;
            }
        }

        throw new InvalidOperationException("RelayKit.sln was not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The store's records once it holds exactly <paramref name="count"/> (the background writer stores them shortly after each request).</summary>
    public static async Task<List<UsageRecord>> WaitForRecordsAsync(IUsageStore store, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var records = (await store.GetRecentAsync(null, 100, CancellationToken.None)).ToList();
            if (records.Count >= count || DateTime.UtcNow > deadline)
            {
                Assert.Equal(count, records.Count);
                return records;
            }

            // Bounded by the deadline: a poll of a background write, not a wait for time to pass.
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
