namespace RelayKit.AspNetCore.Pricing;

/// <summary>A model the relay knows a price and an output cap for without configuration.</summary>
/// <param name="Price">Its list price.</param>
/// <param name="MaxOutputTokens">The most output tokens one response can have; 0 for embeddings.</param>
internal sealed record KnownModel(ModelPrice Price, int MaxOutputTokens);
