namespace RelayKit.Samples.MinimalApi;

/// <summary>
/// What the sample prints once it is listening: its addresses, the key to use, where each provider goes and
/// requests to try. A secret is printed only for the built-in development key; a configured key (its secret came
/// from a file, the environment or a vault, and the console may be logged) is named instead.
/// </summary>
/// <param name="routes">Where each provider goes, one line each.</param>
/// <param name="developmentKey">The built-in key's secret when the sample added it (no key configured), else null.</param>
/// <param name="dataFolder">Where the relay keeps its SQLite files unless their paths are configured.</param>
public sealed class QuickStart(IReadOnlyList<string> routes, string? developmentKey, string dataFolder)
{
    /// <summary>Writes the start-up text.</summary>
    /// <param name="writer">Where to write it (the console).</param>
    /// <param name="baseUrl">The relay's address, without a trailing slash.</param>
    /// <param name="configuration">The app's configuration, for the configured key's name.</param>
    public void Write(TextWriter writer, string baseUrl, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(configuration);
        var key = developmentKey ?? "$RELAY_KEY";
        var keyLine = developmentKey is not null
            ? $"Development key:     {developmentKey} (built in, {DevelopmentKey.TrialCredit} USD trial credit; configure ModelRelay:Keys to replace it)"
            : $"Relay key:           the configured key '{configuration["ModelRelay:Keys:0:Name"]}' (set RELAY_KEY to its secret for the lines below)";
        var providers = string.Join(Environment.NewLine, routes.Select(r => "    " + r));
        writer.WriteLine($$"""

            RelayKit relay is running.
              OpenAI base URL:     {{baseUrl}}/v1
              Anthropic base URL:  {{baseUrl}}
              {{keyLine}}
              Status page:         {{baseUrl}}/relay/status
              Data folder:         {{dataFolder}}
            Providers:
            {{providers}}

            Try it (-i shows the cost headers: reserved, charged, balance remaining):
              curl -i {{baseUrl}}/v1/chat/completions -H "Authorization: Bearer {{key}}" -H "Content-Type: application/json" -d '{"model":"gpt-5.5","messages":[{"role":"user","content":"Hello!"}]}'
              curl {{baseUrl}}/v1/messages -H "x-api-key: {{key}}" -H "anthropic-version: 2023-06-01" -H "Content-Type: application/json" -d '{"model":"claude-code-opus-4.8","max_tokens":200,"messages":[{"role":"user","content":"Hello!"}]}'
              curl "{{baseUrl}}/v1/relay/estimate?endpoint=chat/completions" -H "Authorization: Bearer {{key}}" -H "Content-Type: application/json" -d '{"model":"claude-code-opus-4.8","messages":[{"role":"user","content":"Hello!"}]}'
              curl {{baseUrl}}/v1/relay/balance -H "Authorization: Bearer {{key}}"
              curl {{baseUrl}}/v1/models -H "Authorization: Bearer {{key}}"
              curl "{{baseUrl}}/ask?q=What+is+a+relay%3F"   (the app's own endpoint: gpt-5.5 and claude-code-opus-4.8 answer)

            """);
    }
}
