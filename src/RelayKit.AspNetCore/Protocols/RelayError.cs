using Microsoft.AspNetCore.Http;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// A failure the relay answers itself, in the caller's wire format. Messages never carry a secret or a
/// stack trace; <see cref="Code"/> is a stable machine-readable reason (OpenAI's <c>code</c> field).
/// </summary>
internal sealed record RelayError(int Status, RelayErrorKind Kind, string Code, string Message, string? Param = null)
{
    public static RelayError MissingKey() => new(StatusCodes.Status401Unauthorized, RelayErrorKind.Authentication, "invalid_api_key",
        "No relay key was sent. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.");

    public static RelayError MethodNotAllowed(string method, string allowed) => new(StatusCodes.Status405MethodNotAllowed, RelayErrorKind.InvalidRequest, "method_not_allowed",
        $"{method} is not allowed on this endpoint; it takes {allowed}.");

    public static RelayError UnknownKey() => new(StatusCodes.Status401Unauthorized, RelayErrorKind.Authentication, "invalid_api_key",
        "The relay key is not valid.");

    /// <summary>
    /// A key that was refunded and closed: 401 like an unknown key (both SDKs raise their authentication error
    /// and never retry it), with its own code so its holder knows the key is closed rather than mistyped.
    /// </summary>
    public static RelayError KeyClosed() => new(StatusCodes.Status401Unauthorized, RelayErrorKind.Authentication, "key_closed",
        "This relay key was refunded and closed; it can no longer make requests. Its usage stays readable at /relay/usage.");

    public static RelayError UnknownModel(string model, IReadOnlyList<string> closest) => new(StatusCodes.Status404NotFound, RelayErrorKind.NotFound, "model_not_found",
        closest.Count == 0
            ? $"The model '{model}' is not configured on this relay, and no models are available to this key."
            : $"The model '{model}' is not configured on this relay. Closest configured models: {string.Join(", ", closest)}.",
        "model");

    /// <summary>
    /// The model's provider speaks the other wire format and this endpoint has no counterpart there (embeddings
    /// of an Anthropic model, token counting of an OpenAI one): no other endpoint would do, so none is suggested.
    /// </summary>
    public static RelayError OperationNotSupported(string model, string provider, RelayOperation operation) =>
        new(StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "model_not_supported",
            operation == RelayOperation.Embeddings
                ? $"The model '{model}' cannot create embeddings: its provider '{provider}' serves it in the Anthropic Messages format, which has no embeddings. Use an embedding model."
                : $"The model '{model}' cannot count tokens here: its provider '{provider}' serves it in the OpenAI format, which has no messages.count_tokens endpoint. Send the request to /v1/chat/completions and read its usage, or count tokens for an Anthropic model.",
            "model");

    public static RelayError UnsupportedContentType(string? contentType) => new(StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "unsupported_content_type",
        $"The request body must be JSON with 'Content-Type: application/json' (got '{contentType ?? "none"}').");

    public static RelayError InvalidJson(string detail) => new(StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "invalid_json",
        $"The request body is not valid JSON: {detail}");

    public static RelayError NotAnObject() => new(StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "invalid_json",
        "The request body must be a JSON object.");

    public static RelayError MissingModel() => new(StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "missing_required_parameter",
        "The request body has no 'model'; the relay routes every request by its model.", "model");

    public static RelayError InvalidField(string field, string requirement) => new(StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "invalid_type",
        $"'{field}' {requirement}.", field);

    public static RelayError BodyTooLarge(long limit) => new(StatusCodes.Status413PayloadTooLarge, RelayErrorKind.RequestTooLarge, "request_too_large",
        $"The request body is larger than this relay accepts ({limit} bytes).");

    public static RelayError UnreadableBody() => new(StatusCodes.Status400BadRequest, RelayErrorKind.InvalidRequest, "invalid_body",
        "The request body could not be read.");

    public static RelayError UpstreamUnreachable(string provider) => new(StatusCodes.Status502BadGateway, RelayErrorKind.UpstreamUnreachable, "upstream_unreachable",
        $"The relay could not reach provider '{provider}'.");

    public static RelayError UpstreamTimeout(string provider) => new(StatusCodes.Status504GatewayTimeout, RelayErrorKind.UpstreamTimeout, "upstream_timeout",
        $"Provider '{provider}' did not answer in time.");

    /// <summary>The OpenAI error code of a rate limit a retry can pass.</summary>
    public const string RateLimitExceededCode = "rate_limit_exceeded";

    public static RelayError RateLimited(string message) => new(StatusCodes.Status429TooManyRequests, RelayErrorKind.RateLimited, RateLimitExceededCode, message);

    public static RelayError RateLimitTooLarge(string message) => new(StatusCodes.Status429TooManyRequests, RelayErrorKind.RateLimited, "rate_limit_request_too_large", message);

    public static RelayError Internal(string requestId) => new(StatusCodes.Status500InternalServerError, RelayErrorKind.Internal, "relay_error",
        $"The relay failed to handle this request (x-request-id {requestId}); the relay's log has the details.");

    public static RelayError Stopping(string requestId) => new(StatusCodes.Status503ServiceUnavailable, RelayErrorKind.Unavailable, "relay_stopping",
        $"The relay is shutting down and could not handle this request (x-request-id {requestId}); retry it.");

    /// <summary>A store the request needs (the ledger, the key store) is unreachable or timed out: retryable, not a relay bug.</summary>
    public static RelayError StoreUnavailable(string requestId) => new(StatusCodes.Status503ServiceUnavailable, RelayErrorKind.Unavailable, "store_unavailable",
        $"The relay's storage is unavailable right now (x-request-id {requestId}); retry the request shortly.");

    /// <summary>Every upstream of the model is resting (its breaker open after failures in a row): retryable.</summary>
    public static RelayError UpstreamsResting(string model) => new(StatusCodes.Status503ServiceUnavailable, RelayErrorKind.Unavailable, "upstream_unavailable",
        $"Every upstream of model '{model}' failed recently and is resting; retry the request shortly.");
}
