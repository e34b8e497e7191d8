using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;

namespace RelayKit.AspNetCore.Tests.Usage.Stores;

public sealed class InMemoryUsageStoreTests : UsageStoreContractTests
{
    protected override Task<IUsageStore?> CreateStoreAsync() => Task.FromResult<IUsageStore?>(new InMemoryUsageStore());
}
