using Microsoft.Data.Sqlite;
using RelayKit.AspNetCore.Keys;

namespace RelayKit.AspNetCore.Tests.Keys;

public sealed class SqliteRelayKeyStoreTests : RelayKeyStoreContract
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "relaykit-keys-" + Guid.NewGuid().ToString("N") + ".db");

    internal override IRelayKeyStore CreateStore() => new SqliteRelayKeyStore(_path);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }
}
