using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Settlement;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// The one place each store is chosen from its options, and the one place that choice is checked: the ledger, created
/// keys, the settle spool and usage records. SQLite and memory are built in; PostgreSQL comes from the RelayKit.PostgreSql
/// package (<see cref="IPostgreSqlStorage"/>), and a configuration that asks for it without the package fails at start
/// (<see cref="Hosting.OptionalPackagesValidator"/>). SQLite files go where <see cref="RelayFiles"/> puts them.
/// </summary>
internal static partial class RelayStores
{
    /// <summary>The ledger's and created keys' SQLite file when <see cref="BudgetStorageOptions.SqlitePath"/> is unset.</summary>
    public const string DefaultLedgerFile = "budgets.db";

    /// <summary>The usage records' SQLite file when <see cref="UsageOptions.SqlitePath"/> is unset.</summary>
    public const string DefaultUsageFile = "usage.db";

    /// <summary>The settle spool's file beside a PostgreSQL ledger when <see cref="BudgetStorageOptions.SettleSpoolPath"/> is unset.</summary>
    public const string DefaultSpoolFile = "settle-spool.db";

    public static ILedgerStore CreateLedgerStore(IServiceProvider services, BudgetStorageOptions options) => options.Store switch
    {
        BudgetStoreKind.InMemory => new InMemoryLedgerStore(),
        BudgetStoreKind.PostgreSql => PostgreSql(services, "Budgets:Store is PostgreSql")
            .CreateLedgerStore(Required(options.PostgreSqlConnectionString, "Budgets:PostgreSqlConnectionString"), options.PostgreSqlSchema),
        _ => new SqliteLedgerStore(LedgerFile(services, options), options.SqliteFullSync),
    };

    /// <summary>Created keys are kept where the ledger is: the same SQLite file or PostgreSQL schema, or memory.</summary>
    public static IRelayKeyStore CreateKeyStore(IServiceProvider services, BudgetStorageOptions options) => options.Store switch
    {
        BudgetStoreKind.InMemory => new InMemoryRelayKeyStore(),
        BudgetStoreKind.PostgreSql => PostgreSql(services, "Budgets:Store is PostgreSql")
            .CreateKeyStore(Required(options.PostgreSqlConnectionString, "Budgets:PostgreSqlConnectionString"), options.PostgreSqlSchema),
        _ => new SqliteRelayKeyStore(LedgerFile(services, options)),
    };

    /// <summary>
    /// The settle spool of the ledger store: at <see cref="BudgetStorageOptions.SettleSpoolPath"/> when set; otherwise
    /// next to the ledger's SQLite file, in <see cref="RelayFiles.DefaultFolder"/> for PostgreSQL, or in memory for an
    /// in-memory ledger (which a crash loses anyway).
    /// </summary>
    public static SettleSpool CreateSettleSpool(IServiceProvider services, BudgetStorageOptions options) => new(SpoolFile(Files(services), options));

    /// <summary>The settle spool's file for <paramref name="options"/>, or null when it is kept in memory.</summary>
    public static string? SpoolFile(RelayFiles files, BudgetStorageOptions options) =>
        !string.IsNullOrWhiteSpace(options.SettleSpoolPath) ? files.Resolve(options.SettleSpoolPath, DefaultSpoolFile)
        : options.Store == BudgetStoreKind.Sqlite ? Path.ChangeExtension(files.Resolve(options.SqlitePath, DefaultLedgerFile), ".settle-spool.db")
        : options.Store == BudgetStoreKind.PostgreSql ? files.Resolve(null, DefaultSpoolFile)
        : null;

    public static IUsageStore CreateUsageStore(IServiceProvider services, UsageOptions options) => options.Store switch
    {
        UsageStoreKind.Sqlite => new SqliteUsageStore(Files(services).Resolve(options.SqlitePath, DefaultUsageFile)),
        UsageStoreKind.PostgreSql => PostgreSql(services, "Usage:Store is PostgreSql")
            .CreateUsageStore(Required(options.PostgreSqlConnectionString, "Usage:PostgreSqlConnectionString"), options.PostgreSqlSchema),
        _ => new InMemoryUsageStore(),
    };

    /// <summary>
    /// The status page's history, where the usage records are: the same SQLite file or PostgreSQL schema; in memory when
    /// usage records are kept in memory or not at all.
    /// </summary>
    public static Status.History.IStatusStore CreateStatusStore(IServiceProvider services, UsageOptions options) => options.Store switch
    {
        UsageStoreKind.Sqlite => Status.History.StatusStores.Sqlite(Files(services).Resolve(options.SqlitePath, DefaultUsageFile)),
        UsageStoreKind.PostgreSql => PostgreSql(services, "Usage:Store is PostgreSql")
            .CreateStatusStore(Required(options.PostgreSqlConnectionString, "Usage:PostgreSqlConnectionString"), options.PostgreSqlSchema),
        _ => Status.History.StatusStores.InMemory(),
    };

    /// <summary>What is wrong with the ledger's store choice, one message per problem, each starting with the setting's name under <c>Budgets</c>.</summary>
    public static IEnumerable<string> Problems(BudgetStorageOptions options) =>
        Problems(Enum.IsDefined(options.Store), "Sqlite, PostgreSql or InMemory", options.Store == BudgetStoreKind.PostgreSql, options.PostgreSqlConnectionString, options.PostgreSqlSchema);

    /// <summary>What is wrong with the usage store choice, one message per problem, each starting with the setting's name under <c>Usage</c>.</summary>
    public static IEnumerable<string> Problems(UsageOptions options) =>
        Problems(Enum.IsDefined(options.Store), "Sqlite, PostgreSql, InMemory or None", options.Store == UsageStoreKind.PostgreSql, options.PostgreSqlConnectionString, options.PostgreSqlSchema);

    /// <summary>The start-up error for a configuration that names a store whose package was not added.</summary>
    public static string MissingPostgreSql(string setting) =>
        $"{setting}, which the RelayKit.PostgreSql package provides: add that package and call AddModelRelay().AddPostgreSqlStorage().";

    private static IEnumerable<string> Problems(bool known, string choices, bool postgreSql, string? connectionString, string schema)
    {
        if (!known)
        {
            yield return $"Store must be {choices}.";
        }

        if (postgreSql && string.IsNullOrWhiteSpace(connectionString))
        {
            yield return "PostgreSqlConnectionString is required when Store is PostgreSql.";
        }

        if (postgreSql && !IsSchemaName(schema))
        {
            yield return "PostgreSqlSchema must be a lower-case SQL identifier (a-z, 0-9, _, not starting with a digit).";
        }
    }

    /// <summary>Whether <paramref name="schema"/> is a plain lower-case SQL identifier, the only schema name spliced into SQL.</summary>
    public static bool IsSchemaName(string? schema) => schema is not null && SchemaName().IsMatch(schema);

    private static string LedgerFile(IServiceProvider services, BudgetStorageOptions options) =>
        Files(services).Resolve(options.SqlitePath, DefaultLedgerFile);

    private static RelayFiles Files(IServiceProvider services) =>
        services.GetService<RelayFiles>() ?? RelayFiles.Create(services);

    private static IPostgreSqlStorage PostgreSql(IServiceProvider services, string setting) =>
        services.GetService<IPostgreSqlStorage>() ?? throw new InvalidOperationException(MissingPostgreSql(setting));

    private static string Required(string? value, string setting) =>
        string.IsNullOrWhiteSpace(value) ? throw new InvalidOperationException($"{setting} is required for PostgreSQL storage.") : value;

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaName();
}
