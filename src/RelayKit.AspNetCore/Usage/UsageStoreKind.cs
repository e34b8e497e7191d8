namespace RelayKit.AspNetCore.Usage;

/// <summary>Where usage records are stored.</summary>
public enum UsageStoreKind
{
    /// <summary>A SQLite file in WAL mode (<see cref="UsageOptions.SqlitePath"/>); the default.</summary>
    Sqlite,

    /// <summary>PostgreSQL (<see cref="UsageOptions.PostgreSqlConnectionString"/>), for many relay instances.</summary>
    PostgreSql,

    /// <summary>Process memory; records are lost on restart. For tests and demos.</summary>
    InMemory,

    /// <summary>Records are only logged and measured, never stored.</summary>
    None,
}
