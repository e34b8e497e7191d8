namespace RelayKit.Testing.Protocols;

/// <summary>
/// A client mistake the fake answers in the provider's error shape, as the real API would. <see cref="Code"/> is
/// OpenAI's machine-readable <c>code</c>; <see langword="null"/> takes the one the status implies.
/// </summary>
internal sealed class BadRequestException(int status, string message, string? param = null, string? errorType = null, string? code = null)
    : Exception(message)
{
    public int Status { get; } = status;

    public string? Param { get; } = param;

    public string? ErrorType { get; } = errorType;

    /// <summary>
    /// The OpenAI error <c>code</c> when it is not the one the status implies (such as <c>unknown_url</c> or
    /// <c>previous_response_not_found</c>); <see langword="null"/> takes the one the status implies.
    /// </summary>
    public string? Code { get; } = code;
}
