using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.PostgreSql;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore;

/// <summary>Adds PostgreSQL storage (the RelayKit.PostgreSql package) to the model relay.</summary>
public static class PostgreSqlModelRelayBuilderExtensions
{
    /// <summary>
    /// Makes PostgreSQL available to the relay's stores. Configuration still chooses which stores use it:
    /// <c>ModelRelay:Budgets:Store=PostgreSql</c> (balances, reservations, the ledger and created keys) and
    /// <c>ModelRelay:Usage:Store=PostgreSql</c> (usage records), each with its connection string. The stores share one
    /// connection pool per connection string (20 connections unless the connection string sets <c>Maximum Pool Size</c>).
    /// </summary>
    /// <param name="builder">The relay builder from <c>AddModelRelay()</c>.</param>
    /// <returns>The same builder.</returns>
    public static IModelRelayBuilder AddPostgreSqlStorage(this IModelRelayBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<PostgreSqlStorage>();
        builder.Services.TryAddSingleton<IPostgreSqlStorage>(sp => sp.GetRequiredService<PostgreSqlStorage>());
        return builder;
    }

    /// <summary>
    /// Keeps the ledger, created keys and usage records in PostgreSQL at <paramref name="connectionString"/>, in
    /// <paramref name="schema"/> (created on first use), whatever configuration says of their stores.
    /// </summary>
    /// <param name="builder">The relay builder from <c>AddModelRelay()</c>.</param>
    /// <param name="connectionString">The Npgsql connection string.</param>
    /// <param name="schema">A lower-case SQL identifier for the relay's tables.</param>
    /// <returns>The same builder.</returns>
    public static IModelRelayBuilder AddPostgreSqlStorage(this IModelRelayBuilder builder, string connectionString, string schema = "relaykit")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(schema);
        builder.AddPostgreSqlStorage();
        builder.Services.Configure<ModelRelayOptions>(options =>
        {
            options.Budgets.Store = BudgetStoreKind.PostgreSql;
            options.Budgets.PostgreSqlConnectionString = connectionString;
            options.Budgets.PostgreSqlSchema = schema;
        });
        builder.Services.Configure<UsageOptions>(options =>
        {
            options.Store = UsageStoreKind.PostgreSql;
            options.PostgreSqlConnectionString = connectionString;
            options.PostgreSqlSchema = schema;
        });
        return builder;
    }
}
