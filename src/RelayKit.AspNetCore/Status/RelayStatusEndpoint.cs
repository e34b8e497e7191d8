using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;

namespace RelayKit.AspNetCore.Status;

/// <summary>
/// <c>GET /relay/status</c>, anonymous: every configured upstream's health from real traffic (uptime,
/// error rate, latency percentiles over the last hour and day) and its last probe, the model list with prices, and
/// each model's route (its upstreams with their breakers per provider key), as JSON or, for a browser, as a page. It
/// names providers, models and provider keys by place (<c>openai#0</c>) only: no key, caller key name, address or secret.
/// </summary>
internal sealed class RelayStatusEndpoint(
    ModelRouter router,
    UpstreamHealthTracker health,
    TimeProvider timeProvider,
    RelayPriceCatalog prices,
    History.IStatusStore history,
    Microsoft.Extensions.Options.IOptionsMonitor<UpstreamHealthOptions> healthOptions)
{
    /// <summary><c>GET /relay/status/summary.json</c>: the history in Statuspage's v2 summary shape.</summary>
    public async Task HandleSummaryAsync(HttpContext http)
    {
        var report = await History.StatusReport.BuildAsync(history, router, health, healthOptions, timeProvider.GetUtcNow(), http.RequestAborted);
        http.Response.Headers.CacheControl = "no-store";
        await RelayPageResponses.WriteJsonAsync(http, History.StatusSummaryJson.Build(report, PageUrl(http)));
    }

    private static string PageUrl(HttpContext http)
    {
        var path = http.Request.PathBase + http.Request.Path;
        var page = path.Value!.EndsWith("/summary.json", StringComparison.Ordinal) ? path.Value[..^"/summary.json".Length] : path.Value;
        return $"{http.Request.Scheme}://{http.Request.Host}{page}";
    }

    public async Task HandleAsync(HttpContext http)
    {
        var status = Build();
        http.Response.Headers.CacheControl = "no-store";
        if (!RelayPageResponses.WantsHtml(http.Request))
        {
            await RelayPageResponses.WriteJsonAsync(http, WithoutNulls(status));
            return;
        }

        var report = await History.StatusReport.BuildAsync(history, router, health, healthOptions, timeProvider.GetUtcNow(), http.RequestAborted);
        var nonce = RelayPageResponses.NewNonce();
        await RelayPageResponses.WriteHtmlAsync(http, RenderHtml(status, report, nonce), nonce);
    }

    /// <summary>The status with every field that has no value left out, as the README promises; the page reads a missing field as no value.</summary>
    private static JsonObject WithoutNulls(JsonObject status)
    {
        static void Strip(JsonNode? node)
        {
            if (node is JsonObject obj)
            {
                foreach (var name in obj.Where(p => p.Value is null).Select(p => p.Key).ToList())
                {
                    obj.Remove(name);
                }

                foreach (var (_, value) in obj)
                {
                    Strip(value);
                }
            }
            else if (node is JsonArray array)
            {
                foreach (var item in array)
                {
                    Strip(item);
                }
            }
        }

        Strip(status);
        return status;
    }

    /// <summary>The status as JSON.</summary>
    public JsonObject Build()
    {
        var table = router.Table;
        var upstreams = new JsonArray();
        foreach (var (name, provider) in table.Source.Providers.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var report = health.GetReport(name);
            upstreams.Add(new JsonObject
            {
                ["name"] = name,
                ["format"] = provider?.Kind == ModelRelayProviderKind.Anthropic ? "anthropic" : "openai",
                ["health"] = report.Health.ToString().ToLowerInvariant(),
                ["idle"] = report.RecentAttempts == 0,
                ["last_hour"] = Window(report.LastHour),
                ["last_day"] = Window(report.LastDay),
                ["last_success"] = report.LastSuccess,
                ["last_failure"] = report.LastFailure,
                ["consecutive_failures"] = report.ConsecutiveFailures,
                ["last_probe"] = Probe(report.LastProbe),
            });
        }

        var models = new JsonArray();
        foreach (var (name, entry) in table.ListedModels)
        {
            var upstreamModel = entry.UpstreamModel ?? entry.Name.Text;
            models.Add(new JsonObject
            {
                ["name"] = name,
                ["provider"] = entry.Provider.Name,
                ["upstream_model"] = upstreamModel,
                ["price"] = Price(prices.PriceOf(entry)),
            });
        }

        return new JsonObject
        {
            ["generated_at"] = timeProvider.GetUtcNow(),
            ["upstreams"] = upstreams,
            ["models"] = models,
            ["routes"] = Routes(table),
        };
    }

    /// <summary>A provider's last probe: when, whether every key answered, the slowest key's latency, and each key's result.</summary>
    private static JsonObject? Probe(UpstreamProbe? probe)
    {
        if (probe is null)
        {
            return null;
        }

        var keys = new JsonArray();
        foreach (var key in probe.Keys)
        {
            keys.Add(new JsonObject
            {
                ["key"] = key.Key,
                ["ok"] = key.Ok,
                ["status"] = key.Status,
                ["error"] = key.Error,
                ["latency_ms"] = key.Latency.TotalMilliseconds,
            });
        }

        return new JsonObject
        {
            ["at"] = probe.At,
            ["ok"] = probe.Ok,
            ["latency_ms"] = probe.Latency.TotalMilliseconds,
            ["keys"] = keys,
        };
    }

    /// <summary>
    /// Every model entry (names and patterns) with its upstreams in the order they are tried, and each upstream's breaker
    /// per provider key (when breakers are on). A breaker no request has needed yet is closed; the page makes none. An
    /// upstream that sends the caller's model name of a wildcard entry has a breaker per model and key besides the key's
    /// own: those not closed are listed too, naming the model (only those: the names are the callers', and a closed one
    /// says nothing the key's row does not).
    /// </summary>
    private static JsonArray Routes(ModelRouteTable table)
    {
        var breakersOn = table.Source.Resilience.BreakAfterFailures > 0;
        var routes = new JsonArray();
        foreach (var entry in table.Entries)
        {
            var upstreams = new JsonArray();
            foreach (var upstream in entry.Upstreams)
            {
                JsonArray? breakers = null;
                if (breakersOn)
                {
                    breakers = [];
                    for (var key = 0; key < upstream.Provider.KeyCount; key++)
                    {
                        breakers.Add(new JsonObject
                        {
                            ["key"] = upstream.Provider.KeyName(key),
                            ["state"] = upstream.ExistingBreaker(key)?.StateName ?? "closed",
                        });
                        foreach (var (model, breaker) in upstream.ExistingBreakers(key))
                        {
                            if (model is not null && breaker.StateName is var state and not "closed")
                            {
                                breakers.Add(new JsonObject
                                {
                                    ["key"] = upstream.Provider.KeyName(key),
                                    ["model"] = model,
                                    ["state"] = state,
                                });
                            }
                        }
                    }
                }

                upstreams.Add(new JsonObject
                {
                    ["provider"] = upstream.Provider.Name,
                    ["upstream_model"] = upstream.UpstreamModel ?? (entry.Name.IsWildcard ? null : entry.Name.Text),
                    ["priority"] = upstream.Priority,
                    ["weight"] = upstream.Weight,
                    ["breakers"] = breakers,
                });
            }

            routes.Add(new JsonObject
            {
                ["model"] = entry.Name.Text,
                ["aliases"] = new JsonArray([.. entry.Aliases.Select(a => (JsonNode?)JsonValue.Create(a))]),
                ["upstreams"] = upstreams,
            });
        }

        return routes;
    }

    /// <summary>The price a request to the name is charged (configured, else built in), as the model list shows it.</summary>
    private static JsonObject? Price(ModelPrice? price)
    {
        if (price is null)
        {
            return null;
        }

        return new JsonObject
        {
            ["currency"] = "USD",
            ["per"] = "1M tokens",
            ["free"] = price.Free,
            ["input"] = price.Input,
            ["cached_input"] = price.EffectiveCachedInput,
            ["cache_write"] = price.EffectiveCacheWrite,
            ["output"] = price.Output,
        };
    }

    private static JsonObject Window(UpstreamWindowStats stats) => new()
    {
        ["attempts"] = stats.Attempts,
        ["failures"] = stats.Failures,
        ["error_rate"] = stats.ErrorRate,
        ["uptime"] = stats.Uptime,
        ["latency_ms"] = new JsonObject
        {
            ["p50"] = stats.P50?.TotalMilliseconds,
            ["p95"] = stats.P95?.TotalMilliseconds,
            ["p99"] = stats.P99?.TotalMilliseconds,
        },
    };

    // "idle" is a state a reader could take for trouble: the page says what it means. Down or degraded without
    // recent traffic is the last-known state (or the probes'), and the page says so; healthy without traffic is the probes'.
    private static string? HealthLabel(string? health, bool idle) =>
        health == "idle" ? "up (idle)"
        : idle && health is "down" or "degraded" ? health + " (idle)"
        : idle && health == "healthy" ? "healthy (probed)"
        : health;

    private static string RenderHtml(JsonObject status, History.StatusReport report, string nonce)
    {
        var html = new StringBuilder("<div id=\"live\">");
        History.StatusPageHtml.Append(html, report);
        html.Append("<h2>Details</h2><p>Generated ").Append(E(status["generated_at"]!.GetValue<DateTimeOffset>().ToString("u", CultureInfo.InvariantCulture))).Append(" (UTC). From the relay's real traffic, and the probes of providers that have them.</p>");
        html.Append("<h2>Upstreams</h2><table id=\"upstreams\"><thead><tr><th>Upstream</th><th>Format</th><th>Health</th>")
            .Append("<th>Uptime 1 h</th><th>Uptime 24 h</th><th>Requests 1 h</th><th>Error rate 1 h</th><th>Error rate 24 h</th>")
            .Append("<th>p50</th><th>p95</th><th>p99</th><th>Last probe</th></tr></thead><tbody>");
        foreach (var upstream in status["upstreams"]!.AsArray())
        {
            var hour = upstream!["last_hour"]!;
            var day = upstream["last_day"]!;
            var latency = day["latency_ms"]!;
            html.Append("<tr class=\"upstream\" data-name=\"").Append(E(Text(upstream["name"]))).Append("\"><td>").Append(E(Text(upstream["name"])))
                .Append("</td><td>").Append(E(Text(upstream["format"])))
                .Append("</td><td class=\"health ").Append(E(Text(upstream["health"]))).Append("\">").Append(E(HealthLabel(Text(upstream["health"]), upstream["idle"]?.GetValue<bool>() == true)))
                .Append("</td><td>").Append(Percent(hour["uptime"])).Append("</td><td>").Append(Percent(day["uptime"]))
                .Append("</td><td class=\"attempts\">").Append(E(hour["attempts"]?.ToString()))
                .Append("</td><td>").Append(Percent(hour["error_rate"])).Append("</td><td>").Append(Percent(day["error_rate"]))
                .Append("</td><td>").Append(Millis(latency["p50"])).Append("</td><td>").Append(Millis(latency["p95"]))
                .Append("</td><td>").Append(Millis(latency["p99"])).Append("</td>");
            AppendProbe(html, upstream["last_probe"]);
            html.Append("</tr>");
        }

        html.Append("</tbody></table><h2>Models</h2><table id=\"models\"><thead><tr><th>Model</th><th>Upstream</th><th>Runs as</th>")
            .Append("<th>Input $/1M</th><th>Cached input $/1M</th><th>Output $/1M</th></tr></thead><tbody>");
        foreach (var model in status["models"]!.AsArray())
        {
            var price = model!["price"];
            html.Append("<tr class=\"model\"><td>").Append(E(Text(model["name"]))).Append("</td><td>").Append(E(Text(model["provider"])))
                .Append("</td><td>").Append(E(Text(model["upstream_model"]))).Append("</td>");
            if (price is null)
            {
                html.Append("<td colspan=\"3\">no price</td>");
            }
            else
            {
                html.Append("<td>").Append(Money(price["input"])).Append("</td><td>").Append(Money(price["cached_input"]))
                    .Append("</td><td>").Append(Money(price["output"])).Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</tbody></table><h2>Routes</h2><table id=\"routes\"><thead><tr><th>Model</th><th>Upstream</th><th>Runs as</th>")
            .Append("<th>Priority</th><th>Weight</th><th>Breakers</th></tr></thead><tbody>");
        foreach (var route in status["routes"]!.AsArray())
        {
            foreach (var upstream in route!["upstreams"]!.AsArray())
            {
                html.Append("<tr class=\"route\"><td>").Append(E(Text(route["model"]))).Append("</td><td>").Append(E(Text(upstream!["provider"])))
                    .Append("</td><td>").Append(E(Text(upstream["upstream_model"]) ?? "(the caller's model)"))
                    .Append("</td><td>").Append(E(upstream["priority"]?.ToString())).Append("</td><td>").Append(E(upstream["weight"]?.ToString()))
                    .Append("</td><td class=\"breakers\">");
                if (upstream["breakers"] is not JsonArray breakers)
                {
                    html.Append("off");
                }
                else
                {
                    var first = true;
                    foreach (var breaker in breakers)
                    {
                        html.Append(first ? "" : ", ").Append("<span class=\"breaker ").Append(E(Text(breaker!["state"]))).Append("\">")
                            .Append(E(Text(breaker["key"])));
                        if (Text(breaker["model"]) is { } model)
                        {
                            html.Append(" (").Append(E(model)).Append(')');
                        }

                        html.Append(": ").Append(E(Text(breaker["state"]))).Append("</span>");
                        first = false;
                    }
                }

                html.Append("</td></tr>");
            }
        }

        html.Append("</tbody></table></div>");
        return RelayPageResponses.Document("Relay status", html.ToString(), History.StatusPageStyle.Script, nonce, History.StatusPageStyle.Css);
    }

    /// <summary>The last probe's cell: ok or failed (naming each failed key's status or error), the latency and the time.</summary>
    private static void AppendProbe(StringBuilder html, JsonNode? probe)
    {
        if (probe is null)
        {
            html.Append("<td class=\"probe\">—</td>");
            return;
        }

        var ok = probe["ok"]!.GetValue<bool>();
        html.Append("<td class=\"probe ").Append(ok ? "ok" : "failed").Append("\">").Append(ok ? "ok" : "failed");
        if (!ok)
        {
            var failed = probe["keys"]!.AsArray().Where(k => !k!["ok"]!.GetValue<bool>())
                .Select(k => Text(k!["key"]) + ": " + (k["status"]?.ToString() ?? Text(k["error"])));
            html.Append(" (").Append(E(string.Join(", ", failed))).Append(')');
        }

        html.Append(", ").Append(Millis(probe["latency_ms"])).Append(", ")
            .Append(E(probe["at"]!.GetValue<DateTimeOffset>().ToString("u", CultureInfo.InvariantCulture))).Append("</td>");
    }

    private static string? Text(JsonNode? node) => node?.GetValue<string>();

    private static string E(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    private static string Percent(JsonNode? node) =>
        node is null ? "—" : (node.GetValue<double>() * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    private static string Millis(JsonNode? node) =>
        node is null ? "—" : node.GetValue<double>().ToString("0", CultureInfo.InvariantCulture) + " ms";

    private static string Money(JsonNode? node) =>
        node is null ? "—" : "$" + node.GetValue<decimal>().ToString("0.00##", CultureInfo.InvariantCulture);
}
