using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// The one place each store is chosen from its options: the ledger, created keys and usage records. SQLite and memory
/// are built in; PostgreSQL comes from the RelayKit.PostgreSql package (<see cref="IPostgreSqlStorage"/>), and a
/// configuration that asks for it without the package fails at start (<see cref="Hosting.OptionalPackagesValidator"/>).
/// </summary>
internal static class RelayStores
{
    public static ILedgerStore CreateLedgerStore(IServiceProvider services, BudgetStorageOptions options) => options.Provider switch
    {
        BudgetStorageProvider.InMemory => new InMemoryLedgerStore(),
        BudgetStorageProvider.PostgreSql => PostgreSql(services, "Budgets:Provider is PostgreSql")
            .CreateLedgerStore(Required(options.PostgresConnectionString, "Budgets:PostgresConnectionString"), options.PostgresSchema),
        _ => new SqliteLedgerStore(options.SqlitePath),
    };

    /// <summary>Created keys are kept where the ledger is: the same SQLite file or PostgreSQL schema, or memory.</summary>
    public static IRelayKeyStore CreateKeyStore(IServiceProvider services, BudgetStorageOptions options) => options.Provider switch
    {
        BudgetStorageProvider.InMemory => new InMemoryRelayKeyStore(),
        BudgetStorageProvider.PostgreSql => PostgreSql(services, "Budgets:Provider is PostgreSql")
            .CreateKeyStore(Required(options.PostgresConnectionString, "Budgets:PostgresConnectionString"), options.PostgresSchema),
        _ => new SqliteRelayKeyStore(options.SqlitePath),
    };

    public static IUsageStore CreateUsageStore(IServiceProvider services, UsageOptions options) => options.Store switch
    {
        UsageStoreKind.Sqlite => new SqliteUsageStore(options.SqlitePath),
        UsageStoreKind.Postgres => PostgreSql(services, "Usage:Store is Postgres")
            .CreateUsageStore(Required(options.PostgresConnectionString, "Usage:PostgresConnectionString"), options.PostgresSchema),
        _ => new InMemoryUsageStore(),
    };

    /// <summary>The start-up error for a configuration that names a store whose package was not added.</summary>
    public static string MissingPostgreSql(string setting) =>
        $"{setting}, which the RelayKit.PostgreSql package provides: add that package and call AddModelRelay().AddPostgreSqlStorage().";

    private static IPostgreSqlStorage PostgreSql(IServiceProvider services, string setting) =>
        services.GetService<IPostgreSqlStorage>() ?? throw new InvalidOperationException(MissingPostgreSql(setting));

    private static string Required(string? value, string setting) =>
        string.IsNullOrWhiteSpace(value) ? throw new InvalidOperationException($"{setting} is required for PostgreSQL storage.") : value;
}
