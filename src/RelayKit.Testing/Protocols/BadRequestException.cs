namespace RelayKit.Testing.Protocols;

/// <summary>A client mistake the fake answers in the provider's error shape, as the real API would.</summary>
internal sealed class BadRequestException(int status, string message, string? param = null, string? errorType = null)
    : Exception(message)
{
    public int Status { get; } = status;

    public string? Param { get; } = param;

    public string? ErrorType { get; } = errorType;
}
