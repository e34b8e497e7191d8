using Bogus;

namespace RelayKit.Testing.Generation;

/// <summary>
/// Makes the provider-style ids of one answer (<c>chatcmpl-…</c>, <c>msg_…</c>, <c>call_…</c>). They are
/// drawn from the fake's seed and the request's order, so a test run under a fixed seed and clock
/// produces byte-identical wire output that snapshot tests can pin.
/// </summary>
internal sealed class IdSource(int seed)
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private readonly Randomizer _random = new(seed);

    public string Next(string prefix, int length)
    {
        lock (_random)
        {
            return string.Create(prefix.Length + length, (prefix, _random), static (chars, state) =>
            {
                state.prefix.CopyTo(chars);
                for (var i = state.prefix.Length; i < chars.Length; i++)
                {
                    chars[i] = Alphabet[state._random.Int(0, Alphabet.Length - 1)];
                }
            });
        }
    }
}
