using System.Collections.Concurrent;
using System.Data.Common;
using Npgsql;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.AspNetCore.PostgreSql;

/// <summary>
/// The relay's PostgreSQL stores over one <see cref="NpgsqlDataSource"/> per connection string, so the ledger, the
/// created keys and the usage records of one instance share one bounded connection pool instead of opening a pool
/// each (three pools of Npgsql's default 100 from each of two instances exhaust a server's default
/// <c>max_connections</c> of 100).
/// </summary>
internal sealed class PostgreSqlStorage : IPostgreSqlStorage, IAsyncDisposable
{
    /// <summary>The pool size when the connection string sets none: instances × this must stay under the server's max_connections.</summary>
    internal const int DefaultMaxPoolSize = 20;

    private readonly ConcurrentDictionary<string, Lazy<NpgsqlDataSource>> _dataSources = new(StringComparer.Ordinal);

    public ILedgerStore CreateLedgerStore(string connectionString, string schema) => new PostgreSqlLedgerStore(DataSource(connectionString), schema);

    public IRelayKeyStore CreateKeyStore(string connectionString, string schema) => new PostgreSqlRelayKeyStore(DataSource(connectionString), schema);

    public IUsageStore CreateUsageStore(string connectionString, string schema) => new PostgreSqlUsageStore(DataSource(connectionString), schema);

    public Status.History.IStatusStore CreateStatusStore(string connectionString, string schema)
    {
        var dataSource = DataSource(connectionString);
        return new Status.History.SqlStatusStore(
            async token => await dataSource.OpenConnectionAsync(token),
            $"\"{PostgreSqlSchemaName.Checked(schema)}\".",
            PostgreSqlSchemaName.Dialect(schema));
    }

    /// <summary>The shared data source for <paramref name="connectionString"/>, created on first use.</summary>
    internal NpgsqlDataSource DataSource(string connectionString) =>
        _dataSources.GetOrAdd(connectionString, cs => new Lazy<NpgsqlDataSource>(() => NpgsqlDataSource.Create(WithBoundedPool(cs)))).Value;

    /// <summary>The connection string with <see cref="DefaultMaxPoolSize"/> unless it sets a pool size of its own.</summary>
    internal static string WithBoundedPool(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var setsPoolSize = given.Keys.Cast<string>().Any(k =>
            k.Replace(" ", "", StringComparison.Ordinal).Equals("MaximumPoolSize", StringComparison.OrdinalIgnoreCase)
            || k.Replace(" ", "", StringComparison.Ordinal).Equals("MaxPoolSize", StringComparison.OrdinalIgnoreCase));
        return setsPoolSize
            ? connectionString
            : new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = DefaultMaxPoolSize }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var dataSource in _dataSources.Values.Where(d => d.IsValueCreated))
        {
            await dataSource.Value.DisposeAsync();
        }
    }
}
