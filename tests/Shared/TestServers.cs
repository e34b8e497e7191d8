namespace RelayKit.Tests.Shared;

/// <summary>
/// Where the real servers that storage tests need are found. `.ci/run` starts them and exports
/// these variables. Without them a test skips with the reason, except under CI=true, where a
/// missing server is a failure: CI must never pass by skipping.
/// </summary>
internal static class TestServers
{
    public const string PostgresVariable = "RELAYKIT_TEST_POSTGRES";
    public const string RedisVariable = "RELAYKIT_TEST_REDIS";
    public const string ChromiumVariable = "RELAYKIT_TEST_CHROMIUM";

    public static bool IsCi =>
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The PostgreSQL connection string, or skips (fails under CI) when none is set.</summary>
    public static string RequirePostgres() => Require(PostgresVariable, "PostgreSQL");

    /// <summary>The Redis configuration string, or skips (fails under CI) when none is set.</summary>
    public static string RequireRedis() => Require(RedisVariable, "Redis");

    /// <summary>The Chromium executable path, or skips (fails under CI) when none is set.</summary>
    public static string RequireChromium() => Require(ChromiumVariable, "Chromium");

    private static string Require(string variable, string server)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value;
        }

        var reason = $"{server} is not available: set {variable} (bash .ci/run starts one and sets it).";
        if (IsCi)
        {
            throw new InvalidOperationException("CI=true but " + reason);
        }

        Skip.If(true, reason);
        return value!;
    }
}
