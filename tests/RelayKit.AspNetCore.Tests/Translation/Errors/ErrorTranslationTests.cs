using RelayKit.AspNetCore.Translation.Errors;

namespace RelayKit.AspNetCore.Tests.Translation.Errors;

public sealed class ErrorTranslationTests
{
    [Theory]
    [InlineData(529, "overloaded_error", 503, "server_error", "server_is_overloaded")]
    [InlineData(402, "billing_error", 429, "insufficient_quota", "insufficient_quota")]
    [InlineData(429, "rate_limit_error", 429, "requests", "rate_limit_exceeded")]
    [InlineData(401, "authentication_error", 401, "invalid_request_error", "invalid_api_key")]
    [InlineData(400, "invalid_request_error", 400, "invalid_request_error", null)]
    [InlineData(500, "api_error", 500, "server_error", null)]
    [InlineData(504, "timeout_error", 504, "server_error", "timeout")]
    public void Anthropic_errors_become_openai_errors(int status, string type, int openAIStatus, string openAIType, string? code)
    {
        var result = ErrorTranslation.AnthropicToOpenAI(status, $$"""{"type":"error","error":{"type":"{{type}}","message":"It failed."},"request_id":"req_1"}""");

        Assert.Equal(openAIStatus, result.Status);
        Assert.Equal(openAIType, (string?)result.Body["error"]!["type"]);
        Assert.Equal(code, (string?)result.Body["error"]!["code"]);
        Assert.Equal("It failed.", (string?)result.Body["error"]!["message"]);
    }

    [Theory]
    [InlineData(429, "insufficient_quota", "insufficient_quota", 402, "billing_error")]
    [InlineData(429, "requests", "rate_limit_exceeded", 429, "rate_limit_error")]
    [InlineData(503, "server_error", null, 529, "overloaded_error")]
    [InlineData(401, "invalid_request_error", "invalid_api_key", 401, "authentication_error")]
    [InlineData(404, "invalid_request_error", "model_not_found", 404, "not_found_error")]
    [InlineData(500, "server_error", null, 500, "api_error")]
    public void Openai_errors_become_anthropic_errors(int status, string type, string? code, int anthropicStatus, string anthropicType)
    {
        var codeJson = code is null ? "null" : $"\"{code}\"";
        var result = ErrorTranslation.OpenAIToAnthropic(status, $$$"""{"error":{"message":"It failed.","type":"{{{type}}}","param":null,"code":{{{codeJson}}}}}""");

        Assert.Equal(anthropicStatus, result.Status);
        Assert.Equal("error", (string?)result.Body["type"]);
        Assert.Equal(anthropicType, (string?)result.Body["error"]!["type"]);
        Assert.Equal("It failed.", (string?)result.Body["error"]!["message"]);
    }

    [Fact]
    public void A_body_that_is_not_json_still_maps_by_status()
    {
        var result = ErrorTranslation.OpenAIToAnthropic(502, "<html>Bad Gateway</html>");

        Assert.Equal(502, result.Status);
        Assert.Equal("api_error", (string?)result.Body["error"]!["type"]);
        Assert.Contains("502", (string?)result.Body["error"]!["message"], StringComparison.Ordinal);
    }
}
