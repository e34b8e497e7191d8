using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary><c>GET {prefix}/console</c> over HTTP: an anonymous shell under a strict policy, with no data in it.</summary>
public sealed partial class OperatorConsolePageTests
{
    [Fact]
    public async Task The_console_is_an_anonymous_shell_with_a_nonce_policy_even_behind_the_host_policy_and_holds_no_data()
    {
        await using var app = new AdminRelayApp(AdminStorage.InMemory);
        using var admin = app.CreateAdminClient();
        await app.CreateKeyAsync(admin, new { name = "key-name-that-must-not-be-in-the-shell", credit = 1m });
        using var anonymous = app.CreateClient();

        using var response = await anonymous.GetAsync(AdminRelayApp.AdminPrefix + "/console");
        var html = await response.Content.ReadAsStringAsync();
        using var api = await anonymous.GetAsync(AdminCalls.KeysPath);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        var nonce = NonceInPolicy().Match(policy).Groups[1].Value;
        Assert.NotEmpty(nonce);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("form-action 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        // One script, carrying the nonce; no external script, style or font.
        Assert.Single(Regex.Matches(html, "<script"));
        Assert.Contains($"<script nonce=\"{nonce}\">", html, StringComparison.Ordinal);
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        Assert.Contains("id=\"login-form\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("key-name-that-must-not-be-in-the-shell", html, StringComparison.Ordinal);
        Assert.DoesNotContain("localStorage", html, StringComparison.Ordinal);
        Assert.DoesNotContain("innerHTML", html, StringComparison.Ordinal);
        // The data stays behind the host's policy.
        Assert.True(api.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, api.StatusCode.ToString());

        // A fresh nonce for each load.
        using var again = await anonymous.GetAsync(AdminRelayApp.AdminPrefix + "/console");
        Assert.NotEqual(nonce, NonceInPolicy().Match(again.Headers.GetValues("Content-Security-Policy").Single()).Groups[1].Value);
    }

    [Fact]
    public async Task With_the_relay_off_there_is_no_console()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(RelaySettings.Unreachable()
            .With("ModelRelay:Enabled", "false").With("ModelRelay:Admin:Key", "admin-key-for-the-console-test"));
        builder.Services.AddModelRelay().AddAdmin();
        await using var app = builder.Build();
        app.MapModelRelayAdmin();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using var response = await http.GetAsync("/relay/admin/console");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await app.StopAsync();
    }

    [GeneratedRegex("script-src 'nonce-([^']+)'")]
    private static partial Regex NonceInPolicy();
}
