namespace RelayKit.AspNetCore.Translation;

/// <summary>
/// A request or answer that cannot be carried from one wire format to the other without losing
/// something. The relay answers a request-side failure with 400 and this message, never by dropping
/// the field silently.
/// </summary>
internal sealed class TranslationException : Exception
{
    public TranslationException(string field, string problem)
        : base($"{field}: {problem}")
    {
        Field = field;
    }

    /// <summary>The JSON path of the field, such as <c>messages[2].content[0].type</c>.</summary>
    public string Field { get; }
}
