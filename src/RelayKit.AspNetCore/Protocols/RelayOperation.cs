using System.Text.Json;
using System.Text.Json.Nodes;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Protocols.Anthropic;
using RelayKit.AspNetCore.Protocols.OpenAI;
using RelayKit.AspNetCore.Translation;
using RelayKit.AspNetCore.Translation.Requests;
using RelayKit.AspNetCore.Usage.Telemetry;

namespace RelayKit.AspNetCore.Protocols;

/// <summary>
/// One relayed endpoint and everything the request path needs to know of it, in one table: its name, the path callers
/// use, its wire format and path on the provider, how its policy fields are read, how its prompt is priced, which body field caps its output,
/// whether it is metered, its GenAI operation name, and the operation that serves it on an upstream of the other wire
/// format (with the translation of its body). The steps ask the operation; none of them switches on which one it is.
/// </summary>
internal sealed class RelayOperation
{
    private readonly Func<JsonElement, RelayReadResult>? _readFields;
    private readonly OutputCap _outputCap;
    private Counterpart? _translated;

    // The counterparts name each other, so they are joined once all six exist (static initializers run first).
    static RelayOperation()
    {
        ChatCompletions._translated = new(Messages, ChatCompletionsToMessagesRequest.Translate);
        Responses._translated = new(Messages, ResponsesToMessagesRequest.Translate);
        Messages._translated = new(ChatCompletions, MessagesToChatCompletionsRequest.Translate);
    }

    private RelayOperation(
        string name,
        string callerPath,
        WireFormat format,
        string upstreamPath,
        Func<JsonElement, RelayReadResult>? readFields,
        PromptFormat? promptFormat,
        OutputCap outputCap,
        string genAIName)
    {
        Name = name;
        CallerPath = callerPath;
        Format = format;
        UpstreamPath = upstreamPath;
        _readFields = readFields;
        PromptFormat = promptFormat;
        _outputCap = outputCap;
        GenAIName = genAIName;
    }

    /// <summary>Which body field caps an operation's output.</summary>
    private enum OutputCap
    {
        /// <summary>No output to cap (embeddings, token counting, the model list).</summary>
        None,

        /// <summary>Chat Completions: <c>max_completion_tokens</c> for OpenAI's reasoning models, else <c>max_tokens</c>.</summary>
        ChatCompletions,

        /// <summary>Responses: <c>max_output_tokens</c>.</summary>
        MaxOutputTokens,

        /// <summary>Messages: <c>max_tokens</c>.</summary>
        MaxTokens,
    }

    public static RelayOperation ChatCompletions { get; } = new(
        "chat.completions", "/v1/chat/completions", WireFormat.OpenAI, "chat/completions", OpenAiRequestReader.ReadChatCompletion,
        Budgets.PromptFormat.OpenAIChat, OutputCap.ChatCompletions, GenAIOperationNames.Chat);

    public static RelayOperation Embeddings { get; } = new(
        "embeddings", "/v1/embeddings", WireFormat.OpenAI, "embeddings", OpenAiRequestReader.ReadEmbedding,
        Budgets.PromptFormat.OpenAIEmbeddings, OutputCap.None, GenAIOperationNames.Embeddings);

    public static RelayOperation Responses { get; } = new(
        "responses", "/v1/responses", WireFormat.OpenAI, "responses", OpenAiRequestReader.ReadResponse,
        Budgets.PromptFormat.OpenAIResponses, OutputCap.MaxOutputTokens, GenAIOperationNames.Chat);

    public static RelayOperation Messages { get; } = new(
        "messages", "/v1/messages", WireFormat.Anthropic, "v1/messages", AnthropicRequestReader.ReadMessage,
        Budgets.PromptFormat.AnthropicMessages, OutputCap.MaxTokens, GenAIOperationNames.Chat);

    /// <summary>Free at the provider: not metered, no prompt to price.</summary>
    public static RelayOperation CountTokens { get; } = new(
        "messages.count_tokens", "/v1/messages/count_tokens", WireFormat.Anthropic, "v1/messages/count_tokens", AnthropicRequestReader.ReadCountTokens,
        null, OutputCap.None, GenAIOperationNames.Chat);

    /// <summary>Answered by the relay itself; the format depends on the request (Anthropic when the request carries anthropic-version).</summary>
    public static RelayOperation ListModels { get; } = new("models", "/v1/models", WireFormat.OpenAI, "models", null, null, OutputCap.None, GenAIOperationNames.Chat);

    /// <summary>Every operation the relay forwards (with a body, by POST), in the order they are mapped.</summary>
    public static IReadOnlyList<RelayOperation> Relayed { get; } = [ChatCompletions, Embeddings, Responses, Messages, CountTokens];

    /// <summary>The operation's name in logs and, later, in usage records and metrics.</summary>
    public string Name { get; }

    /// <summary>The path callers send it to, below the relay's prefix.</summary>
    public string CallerPath { get; }

    public WireFormat Format { get; }

    /// <summary>The path relative to the provider's base URL (OpenAI base URLs carry /v1, Anthropic ones do not).</summary>
    public string UpstreamPath { get; }

    /// <summary>How the estimators read the body's prompt; null for an operation with no prompt to price (it is not metered).</summary>
    public PromptFormat? PromptFormat { get; }

    /// <summary>Whether requests of this operation are metered, held against a budget and charged.</summary>
    public bool Metered => PromptFormat is not null;

    /// <summary>The GenAI semantic-convention operation name (<c>gen_ai.operation.name</c>) of its spans, metrics and records.</summary>
    public string GenAIName { get; }

    public RelayReadResult ReadFields(JsonElement root) =>
        _readFields?.Invoke(root) ?? throw new InvalidOperationException($"{Name} has no request body.");

    /// <summary>
    /// The body field that caps the output when this operation is sent to <paramref name="upstreamModel"/>; null for an
    /// operation with no output to cap.
    /// </summary>
    public string? OutputLimitField(string upstreamModel) => _outputCap switch
    {
        OutputCap.MaxOutputTokens => "max_output_tokens",
        OutputCap.MaxTokens => "max_tokens",

        // OpenAI's reasoning models refuse max_tokens; OpenAI-compatible servers (DeepSeek, vLLM, Ollama) know only max_tokens.
        OutputCap.ChatCompletions => upstreamModel.StartsWith("gpt-5", StringComparison.OrdinalIgnoreCase)
            || (upstreamModel.Length > 1 && upstreamModel[0] is 'o' or 'O' && char.IsDigit(upstreamModel[1]))
            ? "max_completion_tokens"
            : "max_tokens",
        _ => null,
    };

    /// <summary>
    /// The operation that serves this one on an upstream of <paramref name="upstreamFormat"/>: itself in its own format,
    /// its translated counterpart in the other (Chat Completions ⇄ Messages both ways, Responses → Messages), or null
    /// when the other format has none (embeddings, token counting).
    /// </summary>
    public RelayOperation? On(WireFormat upstreamFormat) =>
        upstreamFormat == Format ? this : _translated?.Operation;

    /// <summary>Restates a body of this operation for <see cref="On"/> the other format; only for an operation that has a counterpart there.</summary>
    public JsonObject TranslateBody(JsonObject body, RequestTranslationOptions options) =>
        (_translated ?? throw new InvalidOperationException($"{Name} has no counterpart in the other wire format.")).Translate(body, options);

    public override string ToString() => Name;

    private sealed record Counterpart(RelayOperation Operation, Func<JsonObject, RequestTranslationOptions, JsonObject> Translate);
}
