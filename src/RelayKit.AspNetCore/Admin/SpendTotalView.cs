namespace RelayKit.AspNetCore.Admin;

/// <summary>
/// One group of <c>GET {prefix}/spend</c>: a key (its name; a created key's is its id), a requested model or a UTC day
/// (<c>yyyy-MM-dd</c>), with its requests, errors, tokens and cost in US dollars. <see cref="Name"/> is left out for
/// requests that carried no key.
/// </summary>
internal sealed record SpendTotalView(string? Name, long Requests, long Errors, long InputTokens, long OutputTokens, decimal Cost);
