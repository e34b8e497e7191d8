using System.Text.Json.Nodes;

namespace RelayKit.Testing.Protocols;

/// <summary>The fields of a request body that decide the fake's answer, read once per request.</summary>
internal sealed record ParsedBody
{
    public string? Model { get; init; }

    public bool Stream { get; init; }

    public bool IncludeUsage { get; init; }

    public string? LastUserMessage { get; init; }

    public string? SystemPrompt { get; init; }

    public IReadOnlyList<FakeTool> Tools { get; init; } = [];

    public string? ForcedToolName { get; init; }

    public bool RequiresToolCall { get; init; }

    public int? MaxOutputTokens { get; init; }

    public IReadOnlyList<string> EmbeddingInputs { get; init; } = [];

    public string PromptText { get; init; } = "";

    public JsonNode? OutputSchema { get; init; }

    public bool IsOutputSchemaStrict { get; init; }

    public bool RequiresJsonOutput { get; init; }

    public int ChoiceCount { get; init; } = 1;

    public int? TopLogprobs { get; init; }

    public bool RequestsThinking { get; init; }

    public int? ThinkingBudgetTokens { get; init; }

    public bool OmitsThinkingText { get; init; }
}
