using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.Testing;
using RelayKit.Tests.Shared;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>
/// A host with the relay on the fake upstream, <c>AddAdmin()</c>, <c>MapModelRelayAdmin()</c> guarded by
/// the host's "admin" policy (role admin, see <see cref="TestAdminAuthenticationHandler"/>) unless told
/// otherwise, a budget ledger, key store and usage store on the given storage and a fake clock.
/// </summary>
public sealed class AdminRelayApp : WebApplicationFactory<AdminRelayApp>
{
    public const string AdminPrefix = "/relay/admin";

    private readonly Dictionary<string, string?> _settings;
    private readonly BudgetStorageOptions _storage;
    private readonly bool _hostPolicy;
    private readonly Action<IServiceCollection>? _configureServices;

    public AdminRelayApp(AdminStorage storage, Action<Dictionary<string, string?>>? settings = null, bool hostPolicy = true, Action<IServiceCollection>? services = null)
    {
        _configureServices = services;
        _settings = RelaySettings.Create(new Uri("http://fake-upstream/v1"), new Uri("http://fake-upstream/"));
        // Created keys are metered: their models need prices.
        foreach (var model in new[] { "gpt-5.5", "claude-code-opus-4.8" })
        {
            _settings[$"ModelRelay:Models:{model}:Price:Input"] = "1";
            _settings[$"ModelRelay:Models:{model}:Price:Output"] = "10";
        }

        if (storage == AdminStorage.Sqlite)
        {
            // The relay registers its ledger from configuration; point it at this test's own file.
            _settings["ModelRelay:Budgets:Store"] = "Sqlite";
            _settings["ModelRelay:Budgets:SqlitePath"] = SqlitePath;
            _settings["ModelRelay:Usage:Store"] = "Sqlite";
            _settings["ModelRelay:Usage:SqlitePath"] = UsageSqlitePath;
        }
        else if (storage == AdminStorage.PostgreSql)
        {
            PostgreSqlConnectionString = TestServers.RequirePostgres();
            _settings["ModelRelay:Budgets:Store"] = "PostgreSql";
            _settings["ModelRelay:Budgets:PostgreSqlConnectionString"] = PostgreSqlConnectionString;
            _settings["ModelRelay:Budgets:PostgreSqlSchema"] = PostgreSqlSchema;
            _settings["ModelRelay:Usage:Store"] = "PostgreSql";
            _settings["ModelRelay:Usage:PostgreSqlConnectionString"] = PostgreSqlConnectionString;
            _settings["ModelRelay:Usage:PostgreSqlSchema"] = PostgreSqlSchema;
        }

        settings?.Invoke(_settings);
        _hostPolicy = hostPolicy;
        _storage = storage switch
        {
            AdminStorage.Sqlite => new BudgetStorageOptions { Store = BudgetStoreKind.Sqlite, SqlitePath = SqlitePath },
            AdminStorage.PostgreSql => new BudgetStorageOptions
            {
                Store = BudgetStoreKind.PostgreSql, PostgreSqlConnectionString = PostgreSqlConnectionString, PostgreSqlSchema = PostgreSqlSchema,
            },
            _ => new BudgetStorageOptions { Store = BudgetStoreKind.InMemory },
        };
    }

    public FakeUpstream Fake { get; } = new(new FakeUpstreamOptions { Seed = 1 });

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));

    public string SqlitePath { get; } = Path.Combine(Path.GetTempPath(), "relaykit-admin-" + Guid.NewGuid().ToString("N") + ".db");

    public string UsageSqlitePath { get; } = Path.Combine(Path.GetTempPath(), "relaykit-admin-usage-" + Guid.NewGuid().ToString("N") + ".db");

    public string PostgreSqlSchema { get; } = PostgreSqlTestSchema.NewName("admin_test");

    public string? PostgreSqlConnectionString { get; }

    public FakeLogCollector Logs => Services.GetRequiredService<FakeLogCollector>();

    internal IRelayKeyStore KeyStore => Services.GetRequiredService<IRelayKeyStore>();

    /// <summary>A client that the host's policy lets through (role admin).</summary>
    public HttpClient CreateAdminClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add("X-Test-User", "operator");
        client.DefaultRequestHeaders.Add("X-Test-Role", "admin");
        return client;
    }

    public OpenAIClient CreateOpenAiClient(string key) => new(new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(Server.BaseAddress, "v1"),
        Transport = new HttpClientPipelineTransport(CreateClient()),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    });

    /// <summary>Creates a key through the operations API and returns its answer.</summary>
    public async Task<JsonElement> CreateKeyAsync(HttpClient admin, object request)
    {
        using var response = await admin.PostAsJsonAsync(AdminPrefix + "/keys", request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseContentRoot(AppContext.BaseDirectory);

    protected override IHostBuilder CreateHostBuilder() =>
        Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders().AddFakeLogging().SetMinimumLevel(LogLevel.Trace))
            .ConfigureWebHost(web => web
                .ConfigureAppConfiguration(config => config.AddInMemoryCollection(_settings))
                .ConfigureServices(services =>
                {
                    services.AddRouting();
                    services.AddAuthentication(TestAdminAuthenticationHandler.SchemeName)
                        .AddScheme<AuthenticationSchemeOptions, TestAdminAuthenticationHandler>(TestAdminAuthenticationHandler.SchemeName, null);
                    services.AddAuthorizationBuilder().AddPolicy("admin", policy => policy.RequireRole("admin"));
                    services.AddModelRelay()
                        .ConfigureUpstreamHandler((_, _) => Fake.CreateHandler())
                        .AddPostgreSqlStorage()
                        .AddAdmin();
                    services.AddBudgetLedger(_storage);
                    services.AddSingleton<TimeProvider>(Time);
                    _configureServices?.Invoke(services);
                })
                .Configure(app => app.UseRouting().UseAuthentication().UseAuthorization().UseEndpoints(endpoints =>
                {
                    endpoints.MapModelRelay();
                    var admin = endpoints.MapModelRelayAdmin();
                    if (_hostPolicy)
                    {
                        admin.RequireAuthorization("admin");
                    }
                })));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Fake.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var path in new[] { SqlitePath, UsageSqlitePath })
        {
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }

        await PostgreSqlTestSchema.DropAsync(PostgreSqlConnectionString, PostgreSqlSchema);
    }
}
