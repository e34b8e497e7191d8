namespace RelayKit.AspNetCore.Budgets;

/// <summary>Where the budget ledger is kept and how often unsettled reservations are swept.</summary>
public sealed class BudgetStorageOptions
{
    /// <summary>The storage; <see cref="BudgetStoreKind.Sqlite"/> unless set.</summary>
    public BudgetStoreKind Store { get; set; } = BudgetStoreKind.Sqlite;

    /// <summary>
    /// The SQLite file of the ledger and created keys. Unset (the default): <c>budgets.db</c> in the per-user data folder,
    /// <c>LocalApplicationData/RelayKit/&lt;ApplicationName&gt;/</c> (on Linux <c>~/.local/share/RelayKit/&lt;app&gt;/</c>),
    /// created on first use. A relative path is relative to the host's content root; a file there is warned about at
    /// start, because the host watches that folder for appsettings.json changes and would wake on every write.
    /// </summary>
    public string? SqlitePath { get; set; }

    /// <summary>
    /// Whether the SQLite ledger syncs every commit to disk (<c>PRAGMA synchronous = FULL</c>). Off (the default), it runs
    /// WAL with <c>synchronous = NORMAL</c>: a crash of the process loses nothing committed, but a power loss (or a crash
    /// of the machine) may roll back the last commits, whose answers may have gone out already. On: nothing committed is
    /// lost to a power loss either, at the cost of one fsync per group commit.
    /// </summary>
    public bool SqliteFullSync { get; set; }

    /// <summary>The PostgreSQL connection string; required when <see cref="Store"/> is PostgreSql.</summary>
    public string? PostgreSqlConnectionString { get; set; }

    /// <summary>The PostgreSQL schema the ledger tables live in (created on first use).</summary>
    public string PostgreSqlSchema { get; set; } = "relaykit";

    /// <summary>
    /// The SQLite file where a settle the ledger store did not take (an outage) waits until it lands, so it survives a
    /// crash of the relay. Unset: next to the ledger's SQLite file (<c>&lt;name&gt;.settle-spool.db</c>) for SQLite, and
    /// <c>settle-spool.db</c> in the per-user data folder (as <see cref="SqlitePath"/>) for PostgreSQL. A relative path is
    /// relative to the content root. Opened when the relay starts, so a path that cannot be written fails the start.
    /// </summary>
    public string? SettleSpoolPath { get; set; }

    /// <summary>How often reservations that were never settled (a crash) are looked for and released.</summary>
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a request's reservation is held before the sweep may release it: longer than any request
    /// runs (streams included), so only reservations a crash left behind expire. Default one hour.
    /// </summary>
    public TimeSpan ReservationLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Reservation leases: how many requests' worst case one lease holds, or 0 for none. With leases, a key's first
    /// request reserves that many times its worst case in the store at once, and the requests after it are held out
    /// of that block in memory, so only a request's settle writes to the store (README "Budgets"). Nothing is ever
    /// spent past the balance either way; a lease's unused rest is given back after a second without requests.
    /// Unset: 32 for <see cref="BudgetStoreKind.Sqlite"/>, 0 otherwise. With several relay instances on one
    /// store, another instance's unused rest may refuse a request for up to that second; set 0 where they must
    /// refuse to the cent (the PostgreSQL default).
    /// </summary>
    public int? LeaseRequests { get; set; }

    /// <summary>
    /// What is wrong with these settings, one message per problem, each starting with the setting's name under
    /// <c>Budgets</c>: the one check of them, at start for configuration and at registration for <c>AddBudgetLedger</c>.
    /// </summary>
    internal IEnumerable<string> Problems()
    {
        foreach (var problem in Storage.RelayStores.Problems(this))
        {
            yield return problem;
        }

        if (ExpirySweepInterval <= TimeSpan.Zero)
        {
            yield return "ExpirySweepInterval must be positive, for example 00:01:00.";
        }

        // A lifetime shorter than a request lets the sweep release a reservation still in use.
        if (ReservationLifetime < TimeSpan.FromMinutes(1))
        {
            yield return "ReservationLifetime must be at least a minute (longer than any request runs), for example 01:00:00.";
        }

        if (LeaseRequests is < 0 or > 10_000)
        {
            yield return "LeaseRequests must be between 0 (no leases) and 10000.";
        }
    }

    /// <summary>The lease size in effect: <see cref="LeaseRequests"/>, or the provider's default.</summary>
    internal int EffectiveLeaseRequests => LeaseRequests ?? (Store == BudgetStoreKind.Sqlite ? 32 : 0);
}
