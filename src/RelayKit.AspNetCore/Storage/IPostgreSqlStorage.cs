using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Storage;

/// <summary>
/// The PostgreSQL stores. They live in the RelayKit.PostgreSql package (so the core depends on no database driver a
/// user did not ask for), which registers this with <c>AddPostgreSqlStorage()</c>; <see cref="RelayStores"/> asks for
/// it only when configuration chooses PostgreSQL.
/// </summary>
internal interface IPostgreSqlStorage
{
    ILedgerStore CreateLedgerStore(string connectionString, string schema);

    IRelayKeyStore CreateKeyStore(string connectionString, string schema);

    IUsageStore CreateUsageStore(string connectionString, string schema);

    /// <summary>The status page's history, in the usage records' schema.</summary>
    Status.History.IStatusStore CreateStatusStore(string connectionString, string schema);
}
