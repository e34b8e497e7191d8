namespace RelayKit.AspNetCore.Admin;

/// <summary>An operations API error: <c>{"error": {"message", "code"}}</c>.</summary>
internal sealed record AdminErrorView(AdminErrorView.Detail Error)
{
    /// <summary>What went wrong, for people (<see cref="Message"/>) and programs (<see cref="Code"/>).</summary>
    internal sealed record Detail(string Message, string Code);
}
