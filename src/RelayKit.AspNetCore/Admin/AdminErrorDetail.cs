namespace RelayKit.AspNetCore.Admin;

/// <summary>What went wrong, for people (<see cref="Message"/>) and programs (<see cref="Code"/>).</summary>
internal sealed record AdminErrorDetail(string Message, string Code);
