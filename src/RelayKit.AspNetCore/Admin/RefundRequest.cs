namespace RelayKit.AspNetCore.Admin;

/// <summary>The optional body of <c>POST {prefix}/keys/{id}/refund</c>.</summary>
internal sealed record RefundRequest(string? Reference);
