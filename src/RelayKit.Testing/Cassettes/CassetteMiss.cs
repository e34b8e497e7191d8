namespace RelayKit.Testing;

/// <summary>A request a cassette could not answer from its recordings, and why.</summary>
/// <param name="Request">The request, in a sentence.</param>
/// <param name="Message">The whole explanation, as the error answer carries it.</param>
/// <param name="ClosestRecordedRequest">The recorded request closest to it, or <see langword="null"/> when the cassette holds none.</param>
/// <param name="Differences">How the closest recorded request differs, one line per normalized field (recorded, then received).</param>
public sealed record CassetteMiss(string Request, string Message, string? ClosestRecordedRequest, IReadOnlyList<string> Differences);
