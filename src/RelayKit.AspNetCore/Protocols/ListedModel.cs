using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>A model as the relay lists it: the name callers use, the provider that owns it, and its price (null when it has none).</summary>
internal sealed record ListedModel(string Id, string Provider, ModelPrice? Price);
