using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>Calls to the operations API and the relay that the admin tests share.</summary>
internal static class AdminCalls
{
    public const string KeysPath = AdminRelayApp.AdminPrefix + "/keys";

    public static async Task<(HttpStatusCode Status, JsonElement Body)> PostJsonAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body)> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Waits (bounded) until the usage writer stored <paramref name="count"/> records: refused requests are recorded in the background.</summary>
    public static async Task WaitForUsageAsync(AdminRelayApp app, int count)
    {
        var store = app.Services.GetRequiredService<IUsageStore>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var stored = (await store.QueryAsync(UsageFilter.All, 0, 1000, CancellationToken.None)).Records.Count;
            if (stored >= count || DateTime.UtcNow > deadline)
            {
                Assert.True(stored >= count, $"Only {stored} of {count} usage records were stored in time.");
                return;
            }

            // The writer stores records in the background; this only waits for it, bounded by the deadline.
            await Task.Delay(20);
        }
    }
}
