using System.Text.Json;
using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Errors;

/// <summary>
/// Upstream error bodies (whole or as a stream event) restated in the caller's format, with the status
/// the caller's SDK retries or not on. The relay copies <c>retry-after</c> and rate-limit headers itself.
/// </summary>
internal static class ErrorTranslation
{
    /// <summary>An Anthropic error answer as an OpenAI error answer.</summary>
    /// <param name="status">The upstream's HTTP status.</param>
    /// <param name="body">The upstream's body; need not be JSON.</param>
    public static TranslatedError AnthropicToOpenAI(int status, string? body)
    {
        var (type, message) = ReadAnthropic(body);
        type ??= AnthropicTypeFor(status);
        message ??= $"The upstream answered HTTP {status}.";
        var (openAIStatus, openAIType, code) = type switch
        {
            // OpenAI says "out of credit" as 429 insufficient_quota; its SDKs know that shape.
            "billing_error" => (429, "insufficient_quota", "insufficient_quota"),
            // Anthropic's 529 is OpenAI's 503 "overloaded": both are retried by the SDKs.
            "overloaded_error" => (503, "server_error", "server_is_overloaded"),
            "rate_limit_error" => (429, "requests", "rate_limit_exceeded"),
            "authentication_error" => (status, "invalid_request_error", "invalid_api_key"),
            "permission_error" => (status, "invalid_request_error", "permission_denied"),
            "not_found_error" => (status, "invalid_request_error", "not_found"),
            "request_too_large" => (status, "invalid_request_error", "request_too_large"),
            "timeout_error" => (status, "server_error", "timeout"),
            "api_error" => (status, "server_error", (string?)null),
            _ => (status, status >= 500 ? "server_error" : "invalid_request_error", (string?)null),
        };
        return new TranslatedError(openAIStatus, OpenAIBody(message, openAIType, null, code));
    }

    /// <summary>An OpenAI error answer as an Anthropic error answer.</summary>
    /// <param name="status">The upstream's HTTP status.</param>
    /// <param name="body">The upstream's body; need not be JSON.</param>
    public static TranslatedError OpenAIToAnthropic(int status, string? body)
    {
        var (type, code, message) = ReadOpenAI(body);
        message ??= $"The upstream answered HTTP {status}.";
        var anthropicStatus = status;
        if (code == "insufficient_quota" || type == "insufficient_quota")
        {
            // Out of credit is not worth retrying: Anthropic's SDKs retry 429 but not 402 billing_error.
            anthropicStatus = 402;
        }
        else if (status == 503)
        {
            anthropicStatus = 529;
        }

        return new TranslatedError(anthropicStatus, AnthropicBody(AnthropicTypeFor(anthropicStatus), message));
    }

    /// <summary>An Anthropic stream <c>error</c> event's data as the <c>data:</c> frame OpenAI sends for a failed stream.</summary>
    public static JsonObject AnthropicStreamErrorToOpenAI(string data)
    {
        var translated = AnthropicToOpenAI(500, data);
        return translated.Body;
    }

    /// <summary>An OpenAI stream error frame's data as Anthropic's <c>error</c> event data.</summary>
    public static JsonObject OpenAIStreamErrorToAnthropic(string data) => OpenAIToAnthropic(500, data).Body;

    /// <summary>The Anthropic error type for a status, as Anthropic's API uses them.</summary>
    public static string AnthropicTypeFor(int status) => status switch
    {
        400 or 409 or 422 => "invalid_request_error",
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

    public static JsonObject OpenAIBody(string message, string type, string? param, string? code) => new()
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    };

    public static JsonObject AnthropicBody(string type, string message) => new()
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
    };

    private static (string? Type, string? Message) ReadAnthropic(string? body)
    {
        var error = Parse(body)?["error"] as JsonObject;
        return (Text(error?["type"]), Text(error?["message"]));
    }

    private static (string? Type, string? Code, string? Message) ReadOpenAI(string? body)
    {
        var error = Parse(body)?["error"] as JsonObject;
        return (Text(error?["type"]), Text(error?["code"]), Text(error?["message"]));
    }

    private static JsonObject? Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            // Proxies in front of providers answer HTML or plain text; the status still carries the meaning.
            return null;
        }
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
}
