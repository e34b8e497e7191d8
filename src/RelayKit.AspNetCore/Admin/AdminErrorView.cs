namespace RelayKit.AspNetCore.Admin;

/// <summary>An operations API error: <c>{"error": {"message", "code"}}</c>.</summary>
internal sealed record AdminErrorView(AdminErrorDetail Error);
