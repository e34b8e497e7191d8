using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>A configuration that still uses a setting's old name fails the start with the new name, never a silent default.</summary>
public sealed class RenamedSettingsTests
{
    [Theory]
    [InlineData("ModelRelay:Budgets:Provider", "PostgreSql", "ModelRelay:Budgets:Provider was renamed to ModelRelay:Budgets:Store")]
    [InlineData("ModelRelay:Budgets:PostgresConnectionString", "Host=db", "ModelRelay:Budgets:PostgresConnectionString was renamed to ModelRelay:Budgets:PostgreSqlConnectionString")]
    [InlineData("ModelRelay:Budgets:PostgresSchema", "relay", "ModelRelay:Budgets:PostgresSchema was renamed to ModelRelay:Budgets:PostgreSqlSchema")]
    [InlineData("ModelRelay:Usage:PostgresConnectionString", "Host=db", "ModelRelay:Usage:PostgresConnectionString was renamed to ModelRelay:Usage:PostgreSqlConnectionString")]
    [InlineData("ModelRelay:Usage:PostgresSchema", "relay", "ModelRelay:Usage:PostgresSchema was renamed to ModelRelay:Usage:PostgreSqlSchema")]
    [InlineData("ModelRelay:Usage:Store", "Postgres", "ModelRelay:Usage:Store value 'Postgres' was renamed to 'PostgreSql'; set ModelRelay:Usage:Store=PostgreSql.")]
    public async Task An_old_setting_name_stops_the_start_with_the_new_one(string key, string value, string expected)
    {
        await using var app = new RelayApp(RelaySettings.Unreachable().With(key, value));

        var error = Assert.ThrowsAny<Exception>(() => app.Server);

        var failures = Failures(error).ToList();
        Assert.Contains(failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    private static IEnumerable<string> Failures(Exception error) => error switch
    {
        OptionsValidationException validation => validation.Failures,
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Failures),
        _ => [error.Message],
    };
}
