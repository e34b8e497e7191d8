using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Storage;

namespace RelayKit.AspNetCore.Tests.Storage;

public sealed class SqliteKeptStatementsTests
{
    [Fact]
    public async Task Amounts_bind_as_the_same_text_the_driver_binds_and_read_back_exactly()
    {
        // Files written through SqliteCommand and through the kept statements must hold the same text for an amount:
        // compare the two bindings over edge cases and thousands of random decimals of every scale.
        var random = new Random(20261202);
        var amounts = new List<decimal>
        {
            0m, 0.0m, 0.000m, 1m, 1.50m, -1.50m, 7m, 100m, 100.00m, 0.0125m, -0.0125m, 123456789.987654321m,
            0.0000000000000000000000000001m, -0.0000000000000000000000000001m, decimal.MaxValue, decimal.MinValue,
            0.000000000123456789012345m, 79228162514264337593543950335m / 3m, -1m / 3m,
        };
        for (var i = 0; i < 5_000; i++)
        {
            amounts.Add(new decimal(random.Next(), random.Next(), random.Next(0, 4) == 0 ? random.Next() : 0, random.Next(2) == 0, (byte)random.Next(0, 29)));
        }

        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        await using var driver = connection.CreateCommand();
        driver.CommandText = "SELECT @v";
        var parameter = driver.Parameters.Add("@v", SqliteType.Text);
        var kept = new SqliteKeptStatements(connection);
        try
        {
            foreach (var amount in amounts)
            {
                parameter.Value = amount;
                var driverText = (string?)await driver.ExecuteScalarAsync();

                await using var select = kept.Start("SELECT @v");
                select.Bind("@v", amount);
                Assert.True(await select.ReadAsync());
                Assert.Equal(driverText, select.GetString(0));
                Assert.Equal(amount, select.GetDecimal(0));
            }
        }
        finally
        {
            kept.Close();
        }
    }

    [Fact]
    public async Task Every_parameter_must_be_bound_and_errors_carry_sqlites_code()
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY)";
            await create.ExecuteNonQueryAsync();
        }

        var kept = new SqliteKeptStatements(connection);
        try
        {
            await using (var unbound = kept.Start("INSERT INTO t (id) VALUES (@id)"))
            {
                await Assert.ThrowsAsync<InvalidOperationException>(async () => await unbound.ExecuteAsync());
            }

            for (var i = 0; i < 2; i++)
            {
                await using var insert = kept.Start("INSERT INTO t (id) VALUES (@id)");
                insert.Bind("@id", "same");
                if (i == 0)
                {
                    Assert.Equal(1, await insert.ExecuteAsync());
                }
                else
                {
                    var taken = await Assert.ThrowsAsync<SqliteException>(async () => await insert.ExecuteAsync());
                    Assert.Equal(19, taken.SqliteErrorCode); // SQLITE_CONSTRAINT: the ledger retries a unit on it
                }
            }

            // Positions are kept by binding order: a use that binds in another order is refused, never misbound.
            await using (var first = kept.Start("SELECT @a || @b"))
            {
                first.Bind("@a", "x");
                first.Bind("@b", "y");
                Assert.True(await first.ReadAsync());
                Assert.Equal("xy", first.GetString(0));
            }

            await using (var swapped = kept.Start("SELECT @a || @b"))
            {
                Assert.Throws<InvalidOperationException>(() => swapped.Bind("@b", "y"));
            }

            await using var count = kept.Start("SELECT count(*) FROM t");
            Assert.True(await count.ReadAsync());
            Assert.Equal(1, count.GetInt64(0));
        }
        finally
        {
            kept.Close();
        }
    }
}
