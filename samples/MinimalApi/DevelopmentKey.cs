namespace RelayKit.Samples.MinimalApi;

/// <summary>The sample's built-in relay key, added only while no key is configured.</summary>
public static class DevelopmentKey
{
    /// <summary>The key's secret: known to everyone who has read the sample, so for a local machine only.</summary>
    public const string Secret = "rk-dev-local-only";

    /// <summary>Its trial credit in US dollars (the key's <c>Budget</c>), credited once on first use.</summary>
    public const string TrialCredit = "5.00";
}
