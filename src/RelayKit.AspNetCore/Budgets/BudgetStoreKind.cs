namespace RelayKit.AspNetCore.Budgets;

/// <summary>Where balances, reservations and the ledger are kept.</summary>
public enum BudgetStoreKind
{
    /// <summary>A SQLite file (the default; <see cref="BudgetStorageOptions.SqlitePath"/>): one relay instance, survives restarts.</summary>
    Sqlite,

    /// <summary>PostgreSQL: any number of relay instances share the balances.</summary>
    PostgreSql,

    /// <summary>Process memory: for tests and demos; balances are lost on restart.</summary>
    InMemory,
}
