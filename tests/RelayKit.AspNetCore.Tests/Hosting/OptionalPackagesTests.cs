using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Admission.RateLimits;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.PostgreSql;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>
/// PostgreSQL storage and Redis limits come from packages of their own: configuration that asks for them without the
/// package's builder call stops the host at start with a message naming the package and the call.
/// </summary>
public sealed class OptionalPackagesTests
{
    [Theory]
    [InlineData("ModelRelay:Budgets:Store", "PostgreSql", "ModelRelay:Budgets:Store is PostgreSql, which the RelayKit.PostgreSql package provides: add that package and call AddModelRelay().AddPostgreSqlStorage().")]
    [InlineData("ModelRelay:Usage:Store", "PostgreSql", "ModelRelay:Usage:Store is PostgreSql, which the RelayKit.PostgreSql package provides: add that package and call AddModelRelay().AddPostgreSqlStorage().")]
    [InlineData("ModelRelay:RateLimits:Redis", "127.0.0.1:1", "ModelRelay:RateLimits:Redis is set, and Redis rate limits come from the RelayKit.Redis package: add that package and call AddModelRelay().AddRedisRateLimits().")]
    public async Task A_store_from_a_package_that_was_not_added_stops_the_start_and_names_the_package(string setting, string value, string message)
    {
        var settings = RelaySettings.Unreachable()
            .With(setting, value)
            .With("ModelRelay:Budgets:PostgreSqlConnectionString", "Host=127.0.0.1;Port=1")
            .With("ModelRelay:Usage:PostgreSqlConnectionString", "Host=127.0.0.1;Port=1");
        await using var app = Build(settings, relay => { });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(message, error.Failures);
    }

    [Fact]
    public async Task A_relay_that_is_off_starts_whatever_its_store_settings_name()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ModelRelay:Enabled"] = "false",
            ["ModelRelay:Budgets:Store"] = "PostgreSql",
            ["ModelRelay:RateLimits:Redis"] = "127.0.0.1:1",
        };
        await using var app = Build(settings, relay => { });

        await app.StartAsync();

        Assert.False(app.Services.GetRequiredService<IOptions<ModelRelayOptions>>().Value.Enabled);
        Assert.Equal("127.0.0.1:1", app.Services.GetRequiredService<IOptions<RelayRateLimitsOptions>>().Value.Redis);
        await app.StopAsync();
    }

    [Fact]
    public async Task With_the_builder_calls_the_same_configuration_starts_and_uses_the_packages_stores()
    {
        var settings = RelaySettings.Unreachable()
            .With("ModelRelay:Budgets:Store", "PostgreSql")
            .With("ModelRelay:Budgets:PostgreSqlConnectionString", "Host=127.0.0.1;Port=1;Database=relay")
            .With("ModelRelay:Usage:Store", "PostgreSql")
            .With("ModelRelay:Usage:PostgreSqlConnectionString", "Host=127.0.0.1;Port=1;Database=relay")
            .With("ModelRelay:RateLimits:Redis", "127.0.0.1:1");
        await using var app = Build(settings, relay => relay.AddPostgreSqlStorage().AddRedisRateLimits());

        // Options validate without touching a server; the stores are the packages' types.
        _ = app.Services.GetRequiredService<IOptions<ModelRelayOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptions<UsageOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptions<RelayRateLimitsOptions>>().Value;
        Assert.Equal("PostgreSqlLedgerStore", app.Services.GetRequiredService<ILedgerStore>().GetType().Name);
        Assert.Equal("PostgreSqlUsageStore", app.Services.GetRequiredService<IUsageStore>().GetType().Name);
        Assert.Equal("RedisRelayRateLimiter", app.Services.GetRequiredService<IRelayRateLimiter>().GetType().Name);
    }

    [Fact]
    public async Task The_ledger_and_usage_stores_share_one_bounded_pool_per_connection_string()
    {
        await using var storage = new PostgreSqlStorage();

        var first = storage.DataSource("Host=127.0.0.1;Port=1;Database=relay");
        var again = storage.DataSource("Host=127.0.0.1;Port=1;Database=relay");
        var other = storage.DataSource("Host=127.0.0.1;Port=1;Database=other");

        Assert.Same(first, again);
        Assert.NotSame(first, other);
        Assert.Contains($"Maximum Pool Size={PostgreSqlStorage.DefaultMaxPoolSize}", first.ConnectionString, StringComparison.Ordinal);
        Assert.Equal("Host=h;Max Pool Size=7", PostgreSqlStorage.WithBoundedPool("Host=h;Max Pool Size=7"));
    }

    [Fact]
    public async Task A_connection_string_given_in_code_chooses_PostgreSQL_for_the_ledger_and_the_usage_records()
    {
        await using var app = Build(RelaySettings.Unreachable(), relay => relay.AddPostgreSqlStorage("Host=127.0.0.1;Port=1;Database=code", "from_code"));

        var relay = app.Services.GetRequiredService<IOptions<ModelRelayOptions>>().Value;
        var usage = app.Services.GetRequiredService<IOptions<UsageOptions>>().Value;

        Assert.Equal(BudgetStoreKind.PostgreSql, relay.Budgets.Store);
        Assert.Equal("from_code", relay.Budgets.PostgreSqlSchema);
        Assert.Equal(UsageStoreKind.PostgreSql, usage.Store);
        Assert.Equal("Host=127.0.0.1;Port=1;Database=code", usage.PostgreSqlConnectionString);
    }

    private static WebApplication Build(Dictionary<string, string?> settings, Action<IModelRelayBuilder> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        configure(builder.Services.AddModelRelay());
        return builder.Build();
    }
}
