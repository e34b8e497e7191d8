namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>The relay configuration the tests start from, as flat configuration keys (what appsettings.json binds to).</summary>
internal static class RelaySettings
{
    public const string AliceKey = "rk-test-alice-7f3a";
    public const string BobKey = "rk-test-bob-91c2";
    public const string OpenAiProviderKey = "sk-provider-openai-SECRET-1111";
    public const string AnthropicProviderKey = "sk-ant-provider-SECRET-2222";

    /// <summary>SHA-256 of <see cref="BobKey"/>: bob is configured by hash only.</summary>
    public static readonly string BobKeySha256 = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(BobKey)));

    /// <summary>
    /// Providers openai and anthropic at the given base URLs; models gpt-5.5, the alias
    /// claude-code-opus-4.8 (upstream claude-opus-4-8), text-embedding-3-small and the wildcard o*-mini;
    /// alice may use gpt-*, claude-*, text-* and o*; bob (configured by hash) only gpt-5.5.
    /// </summary>
    public static Dictionary<string, string?> Create(Uri openAiBase, Uri anthropicBase) => new()
    {
        ["ModelRelay:Providers:openai:Kind"] = "OpenAI",
        ["ModelRelay:Providers:openai:BaseUrl"] = openAiBase.AbsoluteUri,
        ["ModelRelay:Providers:openai:ApiKey"] = OpenAiProviderKey,
        ["ModelRelay:Providers:anthropic:Kind"] = "Anthropic",
        ["ModelRelay:Providers:anthropic:BaseUrl"] = anthropicBase.AbsoluteUri,
        ["ModelRelay:Providers:anthropic:ApiKey"] = AnthropicProviderKey,
        ["ModelRelay:Models:gpt-5.5:Provider"] = "openai",
        ["ModelRelay:Models:gpt-5.5:Aliases:0"] = "default",
        ["ModelRelay:Models:claude-code-opus-4.8:Provider"] = "anthropic",
        ["ModelRelay:Models:claude-code-opus-4.8:UpstreamModel"] = "claude-opus-4-8",
        ["ModelRelay:Models:text-embedding-3-small:Provider"] = "openai",
        ["ModelRelay:Models:o*-mini:Provider"] = "openai",
        ["ModelRelay:Keys:0:Name"] = "alice",
        ["ModelRelay:Keys:0:Secret"] = AliceKey,
        ["ModelRelay:Keys:0:Models:0"] = "gpt-*",
        ["ModelRelay:Keys:0:Models:1"] = "claude-*",
        ["ModelRelay:Keys:0:Models:2"] = "text-*",
        ["ModelRelay:Keys:0:Models:3"] = "o*",
        ["ModelRelay:Keys:0:Models:4"] = "default",
        ["ModelRelay:Keys:1:Name"] = "bob",
        ["ModelRelay:Keys:1:SecretSha256"] = BobKeySha256,
        ["ModelRelay:Keys:1:Models:0"] = "gpt-5.5",

        // Tests run in parallel: no shared SQLite file in the test output.
        ["ModelRelay:Usage:Store"] = "InMemory",

        // Tests never share a ledger file: balances live in the test's own host.
        ["ModelRelay:Budgets:Store"] = "InMemory",
    };

    /// <summary>Base URLs nothing listens on, for tests that never reach an upstream.</summary>
    public static Dictionary<string, string?> Unreachable() =>
        Create(new Uri("http://openai.upstream.invalid/v1"), new Uri("http://anthropic.upstream.invalid"));

    /// <summary>
    /// gpt-5.5 served by openai first and, at priority 1, by an Azure-style deployment on the same fake (provider azure,
    /// key in <c>api-key</c>, a header of its own, upstream model <c>gpt55-prod</c>).
    /// </summary>
    public static void PrimaryAndFallback(Dictionary<string, string?> s)
    {
        s["ModelRelay:Providers:azure:Kind"] = "OpenAI";
        s["ModelRelay:Providers:azure:BaseUrl"] = s["ModelRelay:Providers:openai:BaseUrl"];
        s["ModelRelay:Providers:azure:ApiKey"] = "azure-provider-SECRET-3333";
        s["ModelRelay:Providers:azure:AuthHeader"] = "api-key";
        s["ModelRelay:Providers:azure:Headers:x-ms-client"] = "relaykit";
        s["ModelRelay:Models:gpt-5.5:Provider"] = ""; // the test output's appsettings.json (the sample's) names one
        s["ModelRelay:Models:gpt-5.5:Upstreams:0:Provider"] = "openai";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:Provider"] = "azure";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:UpstreamModel"] = "gpt55-prod";
        s["ModelRelay:Models:gpt-5.5:Upstreams:1:Priority"] = "1";
    }

    public static Dictionary<string, string?> With(this Dictionary<string, string?> settings, string key, string? value)
    {
        settings[key] = value;
        return settings;
    }
}
