namespace RelayKit.Testing;

/// <summary>Something in a cassette file that looks like a credential.</summary>
/// <param name="File">The file's path.</param>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Kind">What it looks like, such as <c>OpenAI key</c> or <c>bearer token</c>.</param>
/// <param name="Masked">The match with all but its first characters masked, safe to print.</param>
public sealed record CassetteSecretFinding(string File, int Line, string Kind, string Masked)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}: {Kind} {Masked}";
}
