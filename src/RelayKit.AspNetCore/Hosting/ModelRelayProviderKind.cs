namespace RelayKit.AspNetCore;

/// <summary>The wire format an upstream provider speaks.</summary>
public enum ModelRelayProviderKind
{
    /// <summary>The OpenAI API (chat completions, responses, embeddings); also DeepSeek, vLLM, Ollama and other compatible servers.</summary>
    OpenAI = 1,

    /// <summary>The Anthropic Messages API.</summary>
    Anthropic = 2,
}
