namespace RelayKit.AspNetCore.Admin;

/// <summary>The answer to <c>GET {prefix}/keys</c>: configured keys with a <c>Budget</c>, then created keys, oldest first.</summary>
internal sealed record KeyListView(IReadOnlyList<KeyView> Keys);
