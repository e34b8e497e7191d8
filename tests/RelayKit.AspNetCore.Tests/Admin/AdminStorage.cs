namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>Which storage the ledger, key store and usage store of an <see cref="AdminRelayApp"/> use.</summary>
public enum AdminStorage
{
    InMemory,
    Sqlite,

    /// <summary>A schema of the test's own on the server of <c>RELAYKIT_TEST_POSTGRES</c> (the test is skipped without one, fails under CI).</summary>
    PostgreSql,
}
