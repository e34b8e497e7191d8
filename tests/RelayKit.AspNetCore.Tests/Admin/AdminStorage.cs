namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>Which storage the ledger and key store of an <see cref="AdminRelayApp"/> use.</summary>
public enum AdminStorage
{
    InMemory,
    Sqlite,
}
