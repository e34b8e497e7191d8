namespace RelayKit.Testing.Generation;

/// <summary>
/// Makes the provider-style ids of one answer (<c>chatcmpl-…</c>, <c>msg_…</c>, <c>call_…</c>). They are
/// drawn from the fake's seed and the request's order, so a test run under a fixed seed and clock
/// produces byte-identical wire output that snapshot tests can pin.
/// </summary>
/// <remarks>
/// A plain seeded <see cref="Random"/> draws the same numbers as the Bogus <c>Randomizer(seed)</c> the ids were first
/// made with (it wraps one), without Bogus's process-wide lock around every draw, which concurrent requests contend on.
/// </remarks>
internal sealed class IdSource(int seed)
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private readonly Random _random = new(seed);

    public string Next(string prefix, int length)
    {
        lock (_random)
        {
            return string.Create(prefix.Length + length, (prefix, _random), static (chars, state) =>
            {
                state.prefix.CopyTo(chars);
                for (var i = state.prefix.Length; i < chars.Length; i++)
                {
                                        chars[i] = Alphabet[state._random.Next(0, Alphabet.Length)];
                }
            });
        }
    }
}
