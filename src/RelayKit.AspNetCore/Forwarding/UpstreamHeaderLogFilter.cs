using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Forwarding;

/// <summary>
/// Keeps the Debug and Trace events of the relay's upstream clients (<see cref="UpstreamClientNames"/>) out of
/// the logs, and leaves every other level to the host's configuration.
/// </summary>
/// <remarks>
/// IHttpClientFactory's Trace-level "Request Headers" event redacts its message but carries the raw header
/// values (the provider's key) in its structured state, which structured sinks export. A filter rule for the
/// clients' category would be the most specific rule and so override what the host configured for them
/// (the relay once raised them to Information that way: four lines per request the host had turned off).
/// Instead the rules that can apply to those categories keep their level and get a filter that only refuses
/// levels below Information for them; a rule first in the list stands in for the minimum level when the host
/// has none that applies.
/// </remarks>
internal sealed class UpstreamHeaderLogFilter : IPostConfigureOptions<LoggerFilterOptions>
{
    private const string CategoryPrefix = "System.Net.Http.HttpClient." + UpstreamClientNames.Prefix;

    public void PostConfigure(string? name, LoggerFilterOptions options)
    {
        var rules = options.Rules;
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (MayApplyToUpstreamClients(rule.CategoryName))
            {
                rules[i] = new LoggerFilterRule(rule.ProviderName, rule.CategoryName, rule.LogLevel, Compose(rule.Filter));
            }
        }

        // Less specific than any rule of the host's (the first of equal rules loses), so it only decides when
        // nothing else applies, and then at the level the host would have had anyway.
        rules.Insert(0, new LoggerFilterRule(providerName: null, categoryName: null, options.MinLevel, Compose(null)));
    }

    internal static bool IsRefused(string? category, LogLevel level) =>
        level < LogLevel.Information && category is not null && category.StartsWith(CategoryPrefix, StringComparison.OrdinalIgnoreCase);

    // A rule's category is a prefix of the categories it applies to, with at most one '*' standing for any text.
    private static bool MayApplyToUpstreamClients(string? ruleCategory) =>
        ruleCategory is null
        || ruleCategory.Contains('*', StringComparison.Ordinal)
        || CategoryPrefix.StartsWith(ruleCategory, StringComparison.OrdinalIgnoreCase)
        || ruleCategory.StartsWith(CategoryPrefix, StringComparison.OrdinalIgnoreCase);

    private static Func<string?, string?, LogLevel, bool> Compose(Func<string?, string?, LogLevel, bool>? hosts) =>
        hosts is null
            ? (_, category, level) => !IsRefused(category, level)
            : (provider, category, level) => !IsRefused(category, level) && hosts(provider, category, level);
}
