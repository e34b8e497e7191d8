using System.ComponentModel.DataAnnotations;

namespace RelayKit.AspNetCore.Usage;

/// <summary>How the relay records usage: where records are stored and how they get there.</summary>
public sealed class UsageOptions : IValidatableObject
{
    /// <summary>Where records are stored. Default: <see cref="UsageStoreKind.Sqlite"/>.</summary>
    public UsageStoreKind Store { get; set; } = UsageStoreKind.Sqlite;

    /// <summary>
    /// The SQLite file for <see cref="UsageStoreKind.Sqlite"/>. Unset (the default): <c>usage.db</c> in the per-user data
    /// folder, <c>LocalApplicationData/RelayKit/&lt;ApplicationName&gt;/</c>, created on first use. A relative path is
    /// relative to the host's content root; a file there is warned about at start, because the host watches that folder
    /// for appsettings.json changes and would wake on every write.
    /// </summary>
    public string? SqlitePath { get; set; }

    /// <summary>The Npgsql connection string for <see cref="UsageStoreKind.PostgreSql"/>.</summary>
    public string? PostgreSqlConnectionString { get; set; }

    /// <summary>The PostgreSQL schema that holds the usage table, created on first use. Default: <c>relaykit</c>.</summary>
    public string PostgreSqlSchema { get; set; } = "relaykit";

    /// <summary>How many records may wait for the store before <see cref="WhenQueueFull"/> applies. Default: 10,000.</summary>
    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>The most records written to the store in one batch. Default: 500.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// How long the writer lets records gather before it writes a batch that is not full. Each write is one
    /// transaction, and at a moderate rate the writer would otherwise commit every record on its own (a few hundred
    /// microseconds of disk calls each, on the cores that serve requests). Records already wait in memory for the
    /// writer, so a crash loses at most what was queued, as without the pause; a graceful stop writes at once.
    /// Zero writes whatever is queued immediately. Default: 100 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>What happens to a record when the queue is full. Default: <see cref="UsageQueueFullMode.DropNewest"/>.</summary>
    public UsageQueueFullMode WhenQueueFull { get; set; } = UsageQueueFullMode.DropNewest;

    /// <summary>
    /// Whether prompt and completion text is kept in records. Off by default: prompts often hold
    /// personal or confidential data. Even when on, secret-looking strings are redacted.
    /// </summary>
    public bool RecordContent { get; set; }

    /// <summary>The most characters of prompt or completion text kept per record when <see cref="RecordContent"/> is on. Default: 32,768.</summary>
    [Range(1, int.MaxValue)]
    public int MaxContentLength { get; set; } = 32_768;

    /// <inheritdoc/>
    /// <remarks>The store choice is checked by the one check every store shares (<see cref="Storage.RelayStores"/>).</remarks>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) =>
        Storage.RelayStores.Problems(this).Select(problem => new ValidationResult(problem, [problem[..problem.IndexOf(' ', StringComparison.Ordinal)]]));
}
