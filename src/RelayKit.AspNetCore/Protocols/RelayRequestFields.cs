namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// What policy needs from a request body, read without touching the rest: the model, whether the answer
/// streams, and the caller's cap on output tokens (for the worst-case cost that admission reserves).
/// </summary>
internal sealed record RelayRequestFields(string Model, bool Stream, int? MaxOutputTokens);
