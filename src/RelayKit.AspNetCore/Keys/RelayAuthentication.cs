using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Keys;

/// <summary>What step 1 found: the caller, or the error that refuses the request (exactly one of the two is set).</summary>
/// <param name="Caller">The caller, when the key is valid.</param>
/// <param name="Error">Why the request is refused: no key, an unknown one, or a closed one.</param>
internal readonly record struct RelayAuthentication(RelayCaller? Caller, RelayError? Error);
