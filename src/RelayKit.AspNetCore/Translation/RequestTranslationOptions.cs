namespace RelayKit.AspNetCore.Translation;

/// <summary>What a request translator needs to know beyond the caller's body.</summary>
/// <param name="UpstreamModel">The model name the upstream knows, which replaces the caller's <c>model</c>.</param>
/// <param name="DefaultMaxTokens">
/// The output cap sent to Anthropic when the caller gave none (Anthropic requires <c>max_tokens</c>);
/// the relay passes the route's configured value, else <see cref="StandardMaxTokens"/>.
/// </param>
internal sealed record RequestTranslationOptions(string UpstreamModel, int DefaultMaxTokens = RequestTranslationOptions.StandardMaxTokens)
{
    /// <summary>The default output cap for Anthropic when neither caller nor configuration gave one.</summary>
    public const int StandardMaxTokens = 4096;
}
