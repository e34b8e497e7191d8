using RelayKit.AspNetCore.Keys;

namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// A key the operations API manages by its id: one created through it (<see cref="Created"/>), or one configured in
/// <c>ModelRelay:Keys</c> with a <c>Budget</c> (<see cref="Configured"/>), whose id is its name and ledger account.
/// </summary>
internal sealed record ManagedKey(string Id, CreatedRelayKey? Created, ModelRelayKeyOptions? Configured);
