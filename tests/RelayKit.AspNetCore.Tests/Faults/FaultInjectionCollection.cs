namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>
/// The fault-injection bursts run alone: they load the machine with hundreds of concurrent requests and take a store
/// away mid-burst, which must not slow or starve the other tests' hosts (nor theirs these).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultInjectionCollection
{
    public const string Name = "Fault injection";
}
