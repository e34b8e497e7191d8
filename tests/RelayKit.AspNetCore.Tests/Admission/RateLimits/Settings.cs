using System.Globalization;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>Configuration entries as appsettings.json would hold them.</summary>
internal static class Settings
{
    public static Dictionary<string, string?> Key(
        string name, int? rpm = null, long? tpm = null, int? concurrent = null, int? queueSeconds = null, int index = 0)
    {
        var prefix = $"ModelRelay:Keys:{index}:";
        var settings = new Dictionary<string, string?> { [prefix + "Name"] = name };
        if (rpm is not null)
        {
            settings[prefix + "RequestsPerMinute"] = rpm.Value.ToString(CultureInfo.InvariantCulture);
        }

        if (tpm is not null)
        {
            settings[prefix + "TokensPerMinute"] = tpm.Value.ToString(CultureInfo.InvariantCulture);
        }

        if (concurrent is not null)
        {
            settings[prefix + "MaxConcurrentRequests"] = concurrent.Value.ToString(CultureInfo.InvariantCulture);
        }

        if (queueSeconds is not null)
        {
            settings[prefix + "QueueTimeout"] = TimeSpan.FromSeconds(queueSeconds.Value).ToString("c", CultureInfo.InvariantCulture);
        }

        return settings;
    }
}
