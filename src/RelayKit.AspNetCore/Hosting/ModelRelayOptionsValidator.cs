using RelayKit.AspNetCore.Budgets;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Hosting;

/// <summary>
/// Checks the relay's configuration at start, with one message per problem that names the setting by
/// its configuration path (<c>ModelRelay:Models:fast:Provider</c>), so a broken appsettings.json fails
/// the host's start instead of a caller's request. The configuration section, when there is one, shows
/// providers the binder dropped silently (it skips a dictionary entry whose Kind is not an enum name).
/// </summary>
internal sealed class ModelRelayOptionsValidator(string settingsPath, IConfigurationSection? section) : IValidateOptions<ModelRelayOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelRelayOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = RenamedSettings.Find(section, "Budgets");
        ValidateLimits(options, failures);
        ValidateProviders(options, failures);
        ValidateModels(options, failures);
        ValidateResilience(options, failures);
        ValidateKeys(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The headers a provider key may be sent in (<c>Providers:&lt;name&gt;:AuthHeader</c>).</summary>
    private static readonly string[] AuthHeaders = ["Authorization", "x-api-key", "api-key", "x-goog-api-key"];

    private string Path(params object[] segments) =>
        string.Join(':', [settingsPath, .. segments.Select(s => Convert.ToString(s, CultureInfo.InvariantCulture))]);

    private void ValidateLimits(ModelRelayOptions options, List<string> failures)
    {
        if (options.MaxRequestBodySize <= 0)
        {
            failures.Add($"{Path(nameof(options.MaxRequestBodySize))} must be a positive number of bytes.");
        }

        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Path(nameof(options.ConnectTimeout))} must be positive, for example 00:00:10.");
        }

        if (options.UpstreamTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Path(nameof(options.UpstreamTimeout))} must be positive, for example 00:10:00.");
        }

        failures.AddRange(options.Budgets.Problems().Select(problem => $"{Path(nameof(options.Budgets))}:{problem}"));
    }

    private void ValidateProviders(ModelRelayOptions options, List<string> failures)
    {
        foreach (var configured in section?.GetSection("Providers").GetChildren() ?? [])
        {
            if (!options.Providers.ContainsKey(configured.Key) && configured["Kind"] is { } kind && !Enum.TryParse<ModelRelayProviderKind>(kind, ignoreCase: true, out _))
            {
                failures.Add($"{Path("Providers", configured.Key, "Kind")} '{kind}' is not a provider kind; use OpenAI or Anthropic.");
            }
        }

        foreach (var (providerName, provider) in options.Providers)
        {
            if (provider is null)
            {
                failures.Add($"{Path("Providers", providerName)} is empty; set its Kind and BaseUrl.");
                continue;
            }

            if (provider.Kind is not (ModelRelayProviderKind.OpenAI or ModelRelayProviderKind.Anthropic))
            {
                failures.Add($"{Path("Providers", providerName, "Kind")} is missing; set it to OpenAI or Anthropic.");
            }

            if (!string.IsNullOrEmpty(provider.ApiKey) && provider.ApiKeys.Count > 0)
            {
                failures.Add($"{Path("Providers", providerName)} sets both ApiKey and ApiKeys; put every key in ApiKeys.");
            }

            for (var i = 0; i < provider.ApiKeys.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(provider.ApiKeys[i]))
                {
                    failures.Add($"{Path("Providers", providerName, "ApiKeys", i)} is blank.");
                }
            }

            if (provider.AuthHeader is { } authHeader && !AuthHeaders.Contains(authHeader, StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"{Path("Providers", providerName, "AuthHeader")} '{authHeader}' is not one the relay sends keys in; use {string.Join(", ", AuthHeaders)}.");
            }

            foreach (var (name, value) in provider.Headers)
            {
                if (string.IsNullOrWhiteSpace(name) || name.Any(c => c <= ' ' || c >= 127 || c == ':') || value is null || value.Any(c => c is '\r' or '\n'))
                {
                    failures.Add($"{Path("Providers", providerName, "Headers", name)} is not a valid header (a token name, a value on one line).");
                }
            }

            ValidateProbe(providerName, provider.Probe, failures);
            if (string.IsNullOrWhiteSpace(provider.BaseUrl))
            {
                failures.Add($"{Path("Providers", providerName, "BaseUrl")} is missing; set it to the provider's API base URL, for example https://api.openai.com/v1.");
            }
            else if (!Uri.TryCreate(provider.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                failures.Add($"{Path("Providers", providerName, "BaseUrl")} '{provider.BaseUrl}' is not an absolute http or https URL.");
            }
        }
    }

    private void ValidateProbe(string providerName, ModelRelayProbeOptions? probe, List<string> failures)
    {
        if (probe is null)
        {
            return;
        }

        if (probe.Interval < TimeSpan.FromSeconds(1))
        {
            failures.Add($"{Path("Providers", providerName, "Probe", "Interval")} must be at least 00:00:01, for example 00:01:00.");
        }

        if (probe.Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > probe.Interval))
        {
            failures.Add($"{Path("Providers", providerName, "Probe", "Timeout")} must be positive and at most the Interval ({probe.Interval}); leave it unset for 10 s.");
        }
    }

    private void ValidateUpstreams(ModelRelayOptions options, string modelName, ModelRelayModelOptions model, List<string> failures)
    {
        if (!string.IsNullOrWhiteSpace(model.Provider) || model.UpstreamModel is not null)
        {
            failures.Add($"{Path("Models", modelName)} sets both Upstreams and Provider or UpstreamModel; list every upstream (with its own UpstreamModel) under Upstreams, or use Provider alone.");
        }

        if (model.Upstreams.Count > Routing.UpstreamSelection.MaxCandidates)
        {
            failures.Add($"{Path("Models", modelName, "Upstreams")} lists {model.Upstreams.Count} upstreams; at most {Routing.UpstreamSelection.MaxCandidates} are supported.");
        }

        for (var i = 0; i < model.Upstreams.Count; i++)
        {
            var upstream = model.Upstreams[i];
            if (upstream is null || string.IsNullOrWhiteSpace(upstream.Provider))
            {
                failures.Add($"{Path("Models", modelName, "Upstreams", i, "Provider")} is missing; set it to one of the configured providers ({Known(options.Providers.Keys)}).");
                continue;
            }

            if (!options.Providers.ContainsKey(upstream.Provider))
            {
                failures.Add($"{Path("Models", modelName, "Upstreams", i, "Provider")} names the unknown provider '{upstream.Provider}'; configured providers: {Known(options.Providers.Keys)}.");
            }

            if (upstream.Weight < 1)
            {
                failures.Add($"{Path("Models", modelName, "Upstreams", i, "Weight")} must be at least 1 (it is a share of its priority's requests).");
            }

            if (upstream.Priority < 0)
            {
                failures.Add($"{Path("Models", modelName, "Upstreams", i, "Priority")} must be 0 or more (lower is tried first).");
            }

            if (upstream.UpstreamModel is { } name && string.IsNullOrWhiteSpace(name))
            {
                failures.Add($"{Path("Models", modelName, "Upstreams", i, "UpstreamModel")} is blank; remove it to send the caller's model name.");
            }
        }
    }

    private void ValidateResilience(ModelRelayOptions options, List<string> failures)
    {
        var resilience = options.Resilience;
        if (resilience.MaxAttempts is < 1)
        {
            failures.Add($"{Path("Resilience", "MaxAttempts")} must be at least 1; leave it unset for one attempt at each upstream.");
        }

        if (resilience.MaxRetryAfter < TimeSpan.Zero)
        {
            failures.Add($"{Path("Resilience", "MaxRetryAfter")} must not be negative, for example 00:00:05.");
        }

        // Polly's circuit breaker needs at least two attempts to judge, and at least half a second to rest.
        if (resilience.BreakAfterFailures is < 0 or 1)
        {
            failures.Add($"{Path("Resilience", "BreakAfterFailures")} must be 0 (no breakers) or at least 2.");
        }

        if (resilience.BreakAfterFailures > 0 && (resilience.BreakFor < TimeSpan.FromMilliseconds(500) || resilience.BreakFor > TimeSpan.FromDays(1)))
        {
            failures.Add($"{Path("Resilience", "BreakFor")} must be between 00:00:00.5 and 1.00:00:00.");
        }
    }

    private void ValidateModels(ModelRelayOptions options, List<string> failures)
    {
        // Every name and alias a caller may send must lead to one model entry.
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var modelName in options.Models.Keys)
        {
            owners[modelName] = modelName;
        }

        foreach (var (modelName, model) in options.Models)
        {
            if (model is null)
            {
                failures.Add($"{Path("Models", modelName)} is empty; set its Provider.");
                continue;
            }

            if (model.Upstreams.Count > 0)
            {
                ValidateUpstreams(options, modelName, model, failures);
            }
            else if (string.IsNullOrWhiteSpace(model.Provider))
            {
                failures.Add($"{Path("Models", modelName, "Provider")} is missing; set it to one of the configured providers ({Known(options.Providers.Keys)}), or list the model's Upstreams.");
            }
            else if (!options.Providers.ContainsKey(model.Provider))
            {
                failures.Add($"{Path("Models", modelName, "Provider")} names the unknown provider '{model.Provider}'; configured providers: {Known(options.Providers.Keys)}.");
            }

            if (model.UpstreamModel is { } upstream && string.IsNullOrWhiteSpace(upstream))
            {
                failures.Add($"{Path("Models", modelName, "UpstreamModel")} is blank; remove it to send the caller's model name.");
            }

            for (var i = 0; i < model.Aliases.Count; i++)
            {
                var alias = model.Aliases[i];
                if (string.IsNullOrWhiteSpace(alias))
                {
                    failures.Add($"{Path("Models", modelName, "Aliases", i)} is blank.");
                }
                else if (ModelPattern.IsPattern(alias))
                {
                    failures.Add($"{Path("Models", modelName, "Aliases", i)} '{alias}' is a wildcard pattern; an alias must be a plain name (use a wildcard model entry instead).");
                }
                else if (owners.TryGetValue(alias, out var owner) && !string.Equals(owner, modelName, StringComparison.OrdinalIgnoreCase))
                {
                    failures.Add($"{Path("Models", modelName, "Aliases", i)} '{alias}' is already used by {Path("Models", owner)}.");
                }
                else
                {
                    owners[alias] = modelName;
                }
            }
        }
    }

    private void ValidateKeys(ModelRelayOptions options, List<string> failures)
    {
        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var hashes = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var key = options.Keys[i];
            if (key is null)
            {
                failures.Add($"{Path("Keys", i)} is empty; set its Name and Secret or SecretSha256.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(key.Name))
            {
                failures.Add($"{Path("Keys", i, "Name")} is missing; every key needs a name for logs and usage records.");
            }
            else if (names.TryGetValue(key.Name, out var first))
            {
                failures.Add($"{Path("Keys", i, "Name")} '{key.Name}' duplicates {Path("Keys", first, "Name")}; key names must be unique.");
            }
            else
            {
                names[key.Name] = i;
            }

            if (key.Budget is < 0 or > BudgetLedger.MaxBalance || (key.Budget is { } budget && !BudgetLedger.IsAtScale(budget)))
            {
                failures.Add($"{Path("Keys", i, "Budget")} must be between 0 and {BudgetLedger.MaxBalance.ToString("N0", CultureInfo.InvariantCulture)} US dollars, with at most {BudgetLedger.AmountScale} decimal places.");
            }

            var hasSecret = !string.IsNullOrEmpty(key.Secret);
            var hasHash = !string.IsNullOrEmpty(key.SecretSha256);
            string? hash = null;
            if (hasSecret && hasHash)
            {
                failures.Add($"{Path("Keys", i)} sets both Secret and SecretSha256; set only one.");
            }
            else if (!hasSecret && !hasHash)
            {
                failures.Add($"{Path("Keys", i, "Secret")} is missing; set Secret or SecretSha256.");
            }
            else if (hasHash && !RelayKeyHash.TryParseHex(key.SecretSha256!, out _))
            {
                // Not named: a value that is no hash is most often the secret itself, pasted into the wrong setting.
                failures.Add($"{Path("Keys", i, "SecretSha256")} is not 64 hexadecimal digits (its {key.SecretSha256!.Length} characters are not shown: if it is the key itself, move it to Secret or hash it).");
            }
            else
            {
                hash = hasSecret ? Convert.ToHexString(RelayKeyHash.Compute(key.Secret!)) : key.SecretSha256!;
            }

            if (hash is not null)
            {
                if (hashes.TryGetValue(hash, out var same))
                {
                    // Never the secret itself: only which entries collide.
                    failures.Add($"{Path("Keys", i)} has the same secret as {Path("Keys", same)}; every key needs its own secret.");
                }
                else
                {
                    hashes[hash] = i;
                }
            }

            for (var m = 0; m < key.Models.Count; m++)
            {
                if (string.IsNullOrWhiteSpace(key.Models[m]))
                {
                    failures.Add($"{Path("Keys", i, "Models", m)} is blank; give a model name or a pattern such as gpt-*.");
                }
            }
        }
    }

    private static string Known(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.OrdinalIgnoreCase).ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }
}
