using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols.Anthropic;

/// <summary>Anthropic's error shape: <c>{"type":"error","error":{"type","message"},"request_id"}</c>.</summary>
internal static class AnthropicErrorBody
{
    public static JsonObject Create(string type, string message, string requestId) => new()
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
        ["request_id"] = requestId,
    };

    /// <summary>The error type Anthropic uses for a status.</summary>
    public static string TypeFor(int status) => status switch
    {
        400 or 405 or 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
}
