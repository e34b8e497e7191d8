namespace RelayKit.AspNetCore;

/// <summary>
/// A provider's health probe (<c>Providers:&lt;name&gt;:Probe</c>): every <see cref="Interval"/> the relay lists the
/// provider's models (<c>GET {BaseUrl}/models</c> for OpenAI-style providers, <c>GET {BaseUrl}/v1/models</c> for
/// Anthropic) with each of its keys, so an idle provider's health is known and a failing key's breakers open before a
/// caller meets it. Probes are not caller traffic: no usage record, no metric, no charge.
/// </summary>
public sealed class ModelRelayProbeOptions
{
    /// <summary>How often the provider is probed; the first probe comes one interval after the start. At least 1 s. Default 1 minute.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long one probe waits for the provider's answer before it counts as failed. At most <see cref="Interval"/>;
    /// unset: 10 s, or the interval when that is shorter.
    /// </summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>The timeout a probe uses: <see cref="Timeout"/>, else 10 s or the interval when that is shorter.</summary>
    internal TimeSpan EffectiveTimeout => Timeout ?? (Interval < DefaultTimeout ? Interval : DefaultTimeout);

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
}
