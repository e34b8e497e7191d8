namespace RelayKit.AspNetCore.Usage.Telemetry;

/// <summary>Attribute names from the OpenTelemetry GenAI semantic conventions, and RelayKit's own.</summary>
internal static class GenAIAttributes
{
    public const string ProviderName = "gen_ai.provider.name";
    public const string OperationName = "gen_ai.operation.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string TokenType = "gen_ai.token.type";
    public const string InputTokens = "gen_ai.usage.input_tokens";
    public const string OutputTokens = "gen_ai.usage.output_tokens";
    public const string CacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens";
    public const string CacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens";
    public const string ReasoningOutputTokens = "gen_ai.usage.reasoning.output_tokens";
    public const string ErrorType = "error.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string HttpStatusCode = "http.response.status_code";

    public const string TokenTypeInput = "input";
    public const string TokenTypeOutput = "output";

    public const string RelayRequestId = "relaykit.request.id";
    public const string RelayKeyName = "relaykit.key.name";
    public const string RelayStreamed = "relaykit.streamed";
    public const string RelayCost = "relaykit.cost";
    public const string RelayAttempt = "relaykit.attempt";
    public const string RelayLimit = "relaykit.limit";
}
