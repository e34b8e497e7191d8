namespace RelayKit.AspNetCore.Budgets;

/// <summary>
/// A prompt's tokens as the model's tokenizer counts them (before any safety margin), and whether part of
/// the prompt could not be counted (a file or a stored conversation the upstream adds).
/// </summary>
internal readonly record struct PromptTokenCount(long Tokens, bool Uncounted);
