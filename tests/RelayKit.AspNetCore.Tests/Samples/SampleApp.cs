using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using RelayKit.Samples.MinimalApi;

namespace RelayKit.AspNetCore.Tests.Samples;

/// <summary>
/// The MinimalApi sample as tests host it: its ledger and usage files in a folder of the test's own, so a test run
/// neither spends the development key's trial credit in the user's application-data folder nor sees another run's.
/// </summary>
internal static class SampleApp
{
    public static WebApplicationFactory<Program> Create(Action<IWebHostBuilder>? configure = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "relaykit-tests", "sample-" + Guid.NewGuid().ToString("N"));
        return new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ModelRelay:Budgets:SqlitePath", Path.Combine(folder, "relaykit-budgets.db"))
                .UseSetting("ModelRelay:Usage:SqlitePath", Path.Combine(folder, "relaykit-usage.db"));
            configure?.Invoke(web);
        });
    }
}
