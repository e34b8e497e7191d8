using System.Globalization;

namespace RelayKit.Testing;

/// <summary>
/// How fast a cassette replays: instantly, at the recorded pace, or scaled. Delays run on the fake's
/// <see cref="FakeUpstreamOptions.TimeProvider"/>, so tests drive them with <c>FakeTimeProvider</c>.
/// </summary>
public readonly record struct CassetteSpeed
{
    private CassetteSpeed(double factor) => Factor = factor;

    /// <summary>
    /// How many times faster than recorded the replay runs: 1 is the recorded pace, 2 twice as fast,
    /// <see cref="double.PositiveInfinity"/> instant.
    /// </summary>
    public double Factor { get; }

    /// <summary>No delays at all: every event is written as soon as the previous one (the default).</summary>
    public static CassetteSpeed Instant => new(double.PositiveInfinity);

    /// <summary>The recorded time to the first byte and the recorded spacing between streamed events.</summary>
    public static CassetteSpeed Recorded => new(1);

    /// <summary>The recorded pace, <paramref name="factor"/> times faster (0.5 is twice as slow).</summary>
    /// <param name="factor">A positive speed-up factor.</param>
    public static CassetteSpeed Scaled(double factor)
    {
        if (!(factor > 0) || double.IsNaN(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The speed factor must be positive.");
        }

        return new(factor);
    }

    /// <summary>Reads <c>instant</c>, <c>recorded</c> or a factor such as <c>2</c> or <c>0.5</c>.</summary>
    /// <param name="text">The text to read.</param>
    public static CassetteSpeed Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "instant" or "0" => Instant,
            "recorded" or "1" => Recorded,
            var other when double.TryParse(other, NumberStyles.Float, CultureInfo.InvariantCulture, out var factor) => Scaled(factor),
            _ => throw new FormatException($"Unknown cassette speed '{text}': use instant, recorded or a factor such as 2."),
        };
    }

    /// <summary>The real wait for a recorded wait at this speed.</summary>
    internal TimeSpan Scale(TimeSpan recorded) =>
        double.IsPositiveInfinity(Factor) || Factor == 0 || recorded <= TimeSpan.Zero ? TimeSpan.Zero : recorded / Factor;

    /// <inheritdoc />
    public override string ToString() =>
        double.IsPositiveInfinity(Factor) || Factor == 0 ? "instant" : Factor == 1 ? "recorded" : Factor.ToString(CultureInfo.InvariantCulture) + "x";
}
