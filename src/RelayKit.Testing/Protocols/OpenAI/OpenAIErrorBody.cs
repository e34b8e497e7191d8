using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols.OpenAI;

/// <summary>OpenAI's error shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAIErrorBody
{
    public static JsonObject Create(string message, string type, string? param, string? code) => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = message,
            ["type"] = type,
            ["param"] = param,
            ["code"] = code,
        },
    };

    /// <summary>
    /// The type and code OpenAI uses for a status when the error has no more specific one: a 404 is the unknown-model
    /// answer (an unknown URL says <c>unknown_url</c> instead), a 405 (<c>Invalid method for URL</c>) has no code.
    /// </summary>
    public static (string Type, string? Code) For(int status) => status switch
    {
        400 => ("invalid_request_error", null),
        401 => ("invalid_request_error", "invalid_api_key"),
        403 => ("request_forbidden", "unsupported_country_region_territory"),
        404 => ("invalid_request_error", "model_not_found"),
        405 => ("invalid_request_error", null),
        409 => ("invalid_request_error", null),
        413 => ("invalid_request_error", "request_too_large"),
        422 => ("invalid_request_error", null),
        429 => ("requests", "rate_limit_exceeded"),
        503 or 529 => ("server_error", "server_is_overloaded"),
        _ => ("server_error", null),
    };
}
