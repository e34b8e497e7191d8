using Microsoft.AspNetCore.TestHost;
using RelayKit.AspNetCore.Storage;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Usage;
using RelayKit.Samples.MinimalApi;

namespace RelayKit.AspNetCore.Tests.Samples;

/// <summary>The MinimalApi sample as it runs, on its embedded fake upstream.</summary>
public sealed class MinimalApiSampleTests
{
    [Fact]
    public async Task Ask_answers_the_same_question_from_a_gpt_and_a_claude_model()
    {
        // The sample's warnings (an unreachable provider says why) go into the failure message.
        await using var sample = SampleApp.Create(web => web.ConfigureLogging(logging => logging.AddFakeLogging()));
        using var http = sample.CreateClient();

        using var raw = await http.GetAsync("/ask?q=What+is+a+relay%3F");
        Assert.True(raw.IsSuccessStatusCode, $"{(int)raw.StatusCode} {string.Join(",", raw.Headers.Select(h => h.Key + "=" + string.Join(";", h.Value)))} {await raw.Content.ReadAsStringAsync()}"
            + string.Join("\n", sample.Services.GetRequiredService<FakeLogCollector>().GetSnapshot().Where(r => r.Level >= LogLevel.Warning).Select(r => r.Category + ": " + r.Message)));
        var answers = await raw.Content.ReadFromJsonAsync<AskAnswers>();

        Assert.NotNull(answers);
        Assert.Equal("What is a relay?", answers.Question);
        Assert.False(string.IsNullOrWhiteSpace(answers.Gpt));
        Assert.False(string.IsNullOrWhiteSpace(answers.Claude));
    }

    [Fact]
    public async Task The_relay_beside_it_serves_the_claude_model_to_an_openai_caller()
    {
        await using var sample = SampleApp.Create();
        using var http = sample.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "claude-code-opus-4.8", messages = new[] { new { role = "user", content = "Hello!" } } }),
        };
        request.Headers.Authorization = new("Bearer", DevelopmentKey.Secret);

        using var response = await http.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("chat.completion", (string?)body["object"]);
        Assert.Equal("claude-code-opus-4.8", (string?)body["model"]);
        Assert.True(response.Headers.Contains("x-request-id"), "the relay answered, not the fake behind it");
        // The id of an Anthropic message: the answer came from the fake's Anthropic side, translated.
        Assert.StartsWith("msg_", (string?)body["id"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_zero_configuration_a_metered_request_shows_its_cost_and_every_listed_model_has_a_price()
    {
        await using var sample = SampleApp.Create();
        using var http = sample.CreateClient();

        using var chat = await PostAsync(http, "/v1/chat/completions", """{"model":"gpt-5.5","messages":[{"role":"user","content":"Hello!"}]}""");
        using var messages = await PostAsync(http, "/v1/messages", """{"model":"claude-code-opus-4.8","max_tokens":50,"messages":[{"role":"user","content":"Hello!"}]}""");
        using var estimate = await PostAsync(http, "/v1/relay/estimate?endpoint=chat/completions", """{"model":"claude-code-opus-4.8","messages":[{"role":"user","content":"Hello!"}]}""");
        var status = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("/relay/status"))!;

        foreach (var answer in new[] { chat, messages })
        {
            Assert.True(answer.IsSuccessStatusCode, $"{(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
            Assert.True(decimal.Parse(answer.Headers.GetValues("x-relaykit-cost-charged").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
            var balance = decimal.Parse(answer.Headers.GetValues("x-relaykit-balance-remaining").Single(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(balance, 0.000001m, decimal.Parse(DevelopmentKey.TrialCredit, System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.True(estimate.IsSuccessStatusCode, await estimate.Content.ReadAsStringAsync());
        var models = status["models"]!.AsArray();
        Assert.Contains(models, m => (string?)m!["name"] == "gpt-5.5");
        Assert.All(models, m => Assert.NotNull(m!["price"]));
    }

    [Fact]
    public async Task The_sample_with_zero_configuration_keeps_its_files_in_the_per_user_data_folder()
    {
        await using var sample = new WebApplicationFactory<Program>();
        using var http = sample.CreateClient();

        var folder = sample.Services.GetRequiredService<RelayFiles>().DefaultFolder;

        var appData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        Assert.Equal(Path.Combine(appData, "RelayKit", "MinimalApi"), folder);
        Assert.Contains($"Data folder:         {folder}", Banner(sample), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sample_with_zero_configuration_writes_nothing_in_the_content_root_it_watches()
    {
        // No relay setting at all. Only the per-user data folder is a test's own, so that runs do not spend the
        // development key's trial credit in this user's folder, nor see each other's.
        var appData = Path.Combine(Path.GetTempPath(), "relaykit-tests", "appdata-" + Guid.NewGuid().ToString("N"));
        var sample = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web.ConfigureTestServices(services =>
            services.AddSingleton(sp => new RelayFiles(sp.GetRequiredService<IHostEnvironment>(), sp.GetService<ILogger<RelayFiles>>(), appData))));
        try
        {
            await using var disposed = sample;
            var contentRoot = Path.GetFullPath(sample.Services.GetRequiredService<IHostEnvironment>().ContentRootPath);
            var before = FilesUnder(contentRoot);
            using var http = sample.CreateClient();
            using var answer = await PostAsync(http, "/v1/chat/completions", """{"model":"gpt-5.5","messages":[{"role":"user","content":"Hello!"}]}""");
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());

            // Stopping the host writes the usage records still queued.
            await sample.DisposeAsync();
            var folder = Path.Combine(appData, "RelayKit", "MinimalApi");
            Assert.True(File.Exists(Path.Combine(folder, "budgets.db")), "the metered request wrote the ledger in the data folder");
            Assert.True(File.Exists(Path.Combine(folder, "usage.db")), "the usage record went to the data folder");
            Assert.True(File.Exists(Path.Combine(folder, "budgets.settle-spool.db")), "the settle spool lies beside the ledger");
            Assert.Equal(before, FilesUnder(contentRoot));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(appData, recursive: true);
        }
    }

    private static Dictionary<string, (long, DateTime)> FilesUnder(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)), StringComparer.Ordinal);

    [Fact]
    public async Task The_banner_prints_the_built_in_key_and_only_the_name_of_a_configured_one()
    {
        const string configured = "rk-team-configured-SECRET-8d2f";
        await using var builtIn = SampleApp.Create();
        await using var withKey = SampleApp.Create(web => web
            .UseSetting("ModelRelay:Keys:0:Name", "team")
            .UseSetting("ModelRelay:Keys:0:Secret", configured));
        using var builtInHttp = builtIn.CreateClient();
        using var withKeyHttp = withKey.CreateClient();

        var builtInBanner = Banner(builtIn);
        var withKeyBanner = Banner(withKey);

        Assert.Contains($"Development key:     {DevelopmentKey.Secret}", builtInBanner, StringComparison.Ordinal);
        Assert.Contains($"Authorization: Bearer {DevelopmentKey.Secret}", builtInBanner, StringComparison.Ordinal);
        Assert.DoesNotContain(configured, withKeyBanner, StringComparison.Ordinal);
        Assert.DoesNotContain(DevelopmentKey.Secret, withKeyBanner, StringComparison.Ordinal);
        Assert.Contains("the configured key 'team'", withKeyBanner, StringComparison.Ordinal);
        Assert.Contains("Authorization: Bearer $RELAY_KEY", withKeyBanner, StringComparison.Ordinal);

        // The configured key replaces the built-in one, which everyone who read the sample knows.
        using var refused = await PostAsync(withKeyHttp, "/v1/models", null);
        using var accepted = await PostAsync(withKeyHttp, "/v1/chat/completions", """{"model":"gpt-5.5","messages":[{"role":"user","content":"Hello!"}]}""", configured);
        Assert.Equal(401, (int)refused.StatusCode);
        Assert.True(accepted.IsSuccessStatusCode, await accepted.Content.ReadAsStringAsync());
    }

    private static string Banner(WebApplicationFactory<Program> sample)
    {
        var text = new StringWriter();
        sample.Services.GetRequiredService<QuickStart>().Write(text, "http://localhost:5000", sample.Services.GetRequiredService<IConfiguration>());
        return text.ToString();
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string? body, string key = DevelopmentKey.Secret)
    {
        using var request = new HttpRequestMessage(body is null ? HttpMethod.Get : HttpMethod.Post, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new("Bearer", key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return await http.SendAsync(request);
    }
}
