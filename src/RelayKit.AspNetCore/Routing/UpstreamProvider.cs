using System.Net.Http.Headers;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// A configured provider, ready to send to: its base URL ends in '/' so operation paths append; its keys are a pool the
/// forwarder draws from (<see cref="UpstreamSelection"/>), each with its own count of requests in flight.
/// </summary>
internal sealed class UpstreamProvider
{
    private readonly int[] _inFlight;
    private int _next;

    public UpstreamProvider(string name, WireFormat format, Uri baseUri, IReadOnlyList<string> apiKeys, string? authHeader = null,
        IReadOnlyList<KeyValuePair<string, string>>? headers = null)
    {
        Name = name;
        Format = format;
        BaseUri = baseUri;
        ApiKeys = apiKeys;
        AuthHeader = authHeader ?? (format == WireFormat.Anthropic ? "x-api-key" : "Authorization");
        Headers = headers ?? [];
        _inFlight = new int[Math.Max(1, apiKeys.Count)];
    }

    public string Name { get; }

    public WireFormat Format { get; }

    public Uri BaseUri { get; }

    /// <summary>The key pool; empty for a provider without authentication.</summary>
    public IReadOnlyList<string> ApiKeys { get; }

    /// <summary>The header each key is sent in (<c>Authorization</c> as a Bearer token, or the key alone in any other).</summary>
    public string AuthHeader { get; }

    /// <summary>Headers sent on every request to the provider.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The key at <paramref name="index"/>, or null for a provider without keys.</summary>
    public string? KeyAt(int index) => ApiKeys.Count == 0 ? null : ApiKeys[index];

    /// <summary>What a key is called in cool-downs, breakers and logs: the provider's name, and "#n" within a pool of several (never the key).</summary>
    public string KeyName(int index) => ApiKeys.Count <= 1 ? Name : $"{Name}#{index}";

    /// <summary>How many keys the pool holds (one for a provider without keys: it is sent without one).</summary>
    public int KeyCount => _inFlight.Length;

    /// <summary>Requests in flight on the key at <paramref name="index"/>.</summary>
    public int InFlightOn(int index) => Volatile.Read(ref _inFlight[index]);

    /// <summary>Where the next look through the pool starts, so keys with equal load take turns.</summary>
    public int NextTurn() => (int)((uint)Interlocked.Increment(ref _next) % (uint)_inFlight.Length);

    /// <summary>Counts a request in flight on a key until the returned value is disposed.</summary>
    public InFlight Enter(int keyIndex)
    {
        Interlocked.Increment(ref _inFlight[keyIndex]);
        return new InFlight(_inFlight, keyIndex);
    }

    /// <summary>The <c>anthropic-version</c> sent to an Anthropic provider when neither the caller nor the provider's headers name one.</summary>
    public const string DefaultAnthropicVersion = "2023-06-01";

    /// <summary>
    /// Gives a request what every request to the provider carries, as the forwarder sends it: the provider's
    /// <see cref="Headers"/> (replacing any of the same name), the key at <paramref name="keyIndex"/> in
    /// <see cref="AuthHeader"/> (<c>Authorization</c> as a Bearer token, any other header the key alone), and for an
    /// Anthropic provider <c>anthropic-version</c> unless the request has one.
    /// </summary>
    public void AddProviderHeaders(HttpRequestMessage request, int keyIndex)
    {
        foreach (var (name, value) in Headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (KeyAt(keyIndex) is { } apiKey)
        {
            if (string.Equals(AuthHeader, "Authorization", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(AuthHeader, apiKey);
            }
        }

        if (Format == WireFormat.Anthropic && !request.Headers.Contains("anthropic-version"))
        {
            request.Headers.TryAddWithoutValidation("anthropic-version", DefaultAnthropicVersion);
        }
    }

    /// <summary>Omits the keys so a provider never reaches a log or an error through ToString.</summary>
    public override string ToString() => $"{Name} ({Format}, {BaseUri})";

    /// <summary>One request in flight on one counter; disposing it ends it.</summary>
    internal readonly struct InFlight(int[] counters, int index) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref counters[index]);
    }
}
