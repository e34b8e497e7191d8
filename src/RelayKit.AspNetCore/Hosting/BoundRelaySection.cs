namespace RelayKit.AspNetCore.Hosting;

/// <summary>Marks a configuration section the relay's options are already bound to, so a second <c>AddModelRelay</c> binds it once.</summary>
/// <param name="Path">The section's path.</param>
internal sealed record BoundRelaySection(string Path);
