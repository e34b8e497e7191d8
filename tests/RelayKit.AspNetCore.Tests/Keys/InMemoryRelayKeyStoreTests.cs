using RelayKit.AspNetCore.Keys;

namespace RelayKit.AspNetCore.Tests.Keys;

public sealed class InMemoryRelayKeyStoreTests : RelayKeyStoreContract
{
    internal override IRelayKeyStore CreateStore() => new InMemoryRelayKeyStore();
}
