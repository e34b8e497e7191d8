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

    /// <summary>
    /// For a request field a translator does not map: passes when it is one of <paramref name="platformHints"/> (fields
    /// that only steer the source provider's platform, dropped on purpose), else refuses it, naming the target.
    /// </summary>
    public static void ThrowUnlessPlatformHint(string field, IReadOnlySet<string> platformHints, string target)
    {
        if (!platformHints.Contains(field))
        {
            throw new TranslationException(field, $"is not supported when the model is {target}");
        }
    }
}
