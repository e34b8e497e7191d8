namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>One upstream request the relay sent, and what came back.</summary>
public sealed class RecordedExchange
{
    public required string Provider { get; init; }

    public required Uri Uri { get; init; }

    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    public required string Body { get; init; }

    public int? Status { get; set; }

    public IReadOnlyDictionary<string, string> ResponseHeaders { get; set; } = new Dictionary<string, string>();

    /// <summary>The upstream's body, captured only for error statuses (small and never streamed).</summary>
    public byte[]? ErrorBody { get; set; }

    /// <summary>The upstream's successful JSON (non-streamed) body, exactly as it came.</summary>
    public byte[]? JsonBody { get; set; }
}
