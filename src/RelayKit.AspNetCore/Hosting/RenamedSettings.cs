using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// Settings that were renamed before 1.0. A configuration that still uses an old name fails the start with a message
/// naming the new one, rather than the relay silently taking the default for a setting it no longer reads (an old
/// <c>Budgets:Provider=PostgreSql</c> would otherwise keep balances in a local SQLite file).
/// </summary>
internal static class RenamedSettings
{
    // (subsection, old key, new key, old value or null for any, new value)
    private static readonly (string Subsection, string Old, string New, string? OldValue, string? NewValue)[] Renames =
    [
        ("Budgets", "Provider", "Store", null, null),
        ("Budgets", "PostgresConnectionString", "PostgreSqlConnectionString", null, null),
        ("Budgets", "PostgresSchema", "PostgreSqlSchema", null, null),
        ("Usage", "PostgresConnectionString", "PostgreSqlConnectionString", null, null),
        ("Usage", "PostgresSchema", "PostgreSqlSchema", null, null),
        ("Usage", "Store", "Store", "Postgres", "PostgreSql"),
    ];

    /// <summary>One message per old name used in <paramref name="subsection"/> of the relay's <paramref name="section"/>.</summary>
    public static List<string> Find(IConfigurationSection? section, string subsection)
    {
        var found = new List<string>();
        if (section is null)
        {
            return found;
        }

        foreach (var rename in Renames.Where(r => r.Subsection == subsection))
        {
            var value = section.GetSection(subsection)[rename.Old];
            if (value is null)
            {
                continue;
            }

            var where = $"{section.Path}:{subsection}";
            if (rename.OldValue is null)
            {
                found.Add($"{where}:{rename.Old} was renamed to {where}:{rename.New}; rename it in your configuration.");
            }
            else if (string.Equals(value, rename.OldValue, StringComparison.OrdinalIgnoreCase))
            {
                found.Add($"{where}:{rename.Old} value '{rename.OldValue}' was renamed to '{rename.NewValue}'; set {where}:{rename.New}={rename.NewValue}.");
            }
        }

        return found;
    }

    /// <summary>
    /// Throws the start-up validation error for old names in <paramref name="subsection"/>, before binding it (the binder
    /// would otherwise fail on an old enum value with a message that does not name the new one).
    /// </summary>
    public static void ThrowIfUsed<TOptions>(IConfigurationSection? section, string subsection)
    {
        if (Find(section, subsection) is { Count: > 0 } found)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), found);
        }
    }
}
