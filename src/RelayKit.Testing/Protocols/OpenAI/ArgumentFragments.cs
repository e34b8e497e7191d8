namespace RelayKit.Testing.Protocols.OpenAI;

/// <summary>Cuts tool-call arguments into the small fragments OpenAI streams them in.</summary>
internal static class ArgumentFragments
{
    // OpenAI streams arguments a few characters at a time.
    private const int Length = 8;

    /// <summary>Fragments of about <see cref="Length"/> characters that never split a surrogate pair.</summary>
    public static IEnumerable<string> Of(string arguments)
    {
        var offset = 0;
        while (offset < arguments.Length)
        {
            var length = Math.Min(Length, arguments.Length - offset);
            if (offset + length < arguments.Length && char.IsHighSurrogate(arguments[offset + length - 1]))
            {
                length++;
            }

            yield return arguments.Substring(offset, length);
            offset += length;
        }
    }
}
