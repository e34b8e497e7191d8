namespace RelayKit.Testing;

/// <summary>The request headers whose values are secrets and never stored, shown or written.</summary>
internal static class SecretHeaders
{
    public const string Redacted = "[redacted]";

    private static readonly HashSet<string> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "Proxy-Authorization", "x-api-key", "api-key", "Cookie", "Set-Cookie",
        "openai-organization", "openai-project", "x-goog-api-key",
    };

    public static bool IsSecret(string name) => Names.Contains(name);
}
