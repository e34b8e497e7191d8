namespace RelayKit.AspNetCore.Protocols;

/// <summary>A model as the relay lists it: the name callers use and the provider that owns it.</summary>
internal sealed record ListedModel(string Id, string Provider);
