namespace RelayKit.AspNetCore.Usage.Telemetry;

/// <summary>The OpenTelemetry GenAI <c>gen_ai.operation.name</c> values the relay reports.</summary>
public static class GenAIOperationNames
{
    /// <summary>Chat completions, Anthropic messages and the Responses API.</summary>
    public const string Chat = "chat";

    /// <summary>Embeddings.</summary>
    public const string Embeddings = "embeddings";

    /// <summary>Legacy text completions.</summary>
    public const string TextCompletion = "text_completion";
}
