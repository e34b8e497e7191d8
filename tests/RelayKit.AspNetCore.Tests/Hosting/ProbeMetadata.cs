namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>Marks endpoints that a convention reached.</summary>
internal sealed class ProbeMetadata;
