namespace RelayKit.LoadBench;

/// <summary>Where a phase sends its requests: the fake directly, the YARP forwarder, or the relay.</summary>
internal sealed record Target(string Name, Uri ChatCompletions, string Authorization);
