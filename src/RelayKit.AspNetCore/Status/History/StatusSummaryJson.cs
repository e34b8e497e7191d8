using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Status.History;

/// <summary>
/// <c>GET /relay/status/summary.json</c> in the shape of Atlassian Statuspage's v2 <c>summary.json</c>, so tools that read
/// such pages read the relay's: the page, the overall status, one group component per provider with one component per
/// model, the unresolved incidents, and no scheduled maintenance.
/// </summary>
internal static class StatusSummaryJson
{
    public const string PageId = "relaykit";

    /// <summary>The overall indicator and its description, from the components' statuses.</summary>
    public static (string Indicator, string Description) Overall(StatusReport report)
    {
        var statuses = report.Components.Select(c => c.Status).ToList();
        var providers = report.Components.Where(c => c.Model.Length == 0).Select(c => c.Status).ToList();
        return providers.Count > 0 && providers.All(s => s == "major_outage") ? ("critical", "Major Service Outage")
            : statuses.Contains("major_outage") ? ("major", "Partial System Outage")
            : statuses.Any(s => s != "operational") ? ("minor", "Minor Service Outage")
            : ("none", "All Systems Operational");
    }

    public static JsonObject Build(StatusReport report, string pageUrl)
    {
        var now = report.Now;
        var (indicator, description) = Overall(report);
        var components = new JsonArray();
        var position = 1;
        foreach (var component in report.Components)
        {
            var group = component.Model.Length == 0;
            var children = group
                ? new JsonArray([.. report.Components.Where(c => c.Provider == component.Provider && c.Model.Length > 0).Select(c => (JsonNode?)c.Id)])
                : null;
            var node = new JsonObject
            {
                ["id"] = component.Id,
                ["name"] = group ? component.Provider : component.Provider + " / " + component.Model,
                ["status"] = component.Status,
                ["created_at"] = component.Since,
                ["updated_at"] = now,
                ["position"] = position++,
                ["description"] = group ? "Provider " + component.Provider : "Model " + component.Model + " at " + component.Provider,
                ["showcase"] = true,
                ["start_date"] = DateOnly.FromDateTime(component.Since.UtcDateTime).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                ["group_id"] = group ? null : report.Components.First(c => c.Provider == component.Provider && c.Model.Length == 0).Id,
                ["page_id"] = PageId,
                ["group"] = group,
                ["only_show_if_degraded"] = false,
            };
            if (children is not null)
            {
                node["components"] = children;
            }

            components.Add(node);
        }

        var incidents = new JsonArray();
        foreach (var incident in report.Incidents.Where(i => i.EndedAt is null))
        {
            var affected = report.Components.Where(c => c.Provider == incident.Provider && c.Model == incident.Model).ToList();
            incidents.Add(new JsonObject
            {
                ["id"] = incident.Id,
                ["name"] = incident.Title,
                ["status"] = "investigating",
                ["created_at"] = incident.StartedAt,
                ["updated_at"] = incident.StartedAt,
                ["monitoring_at"] = null,
                ["resolved_at"] = null,
                ["impact"] = incident.Kind == "breaker" ? "major" : "minor",
                ["shortlink"] = pageUrl,
                ["started_at"] = incident.StartedAt,
                ["page_id"] = PageId,
                ["incident_updates"] = new JsonArray(new JsonObject
                {
                    ["id"] = incident.Id + "-1",
                    ["status"] = "investigating",
                    ["body"] = incident.Title,
                    ["incident_id"] = incident.Id,
                    ["created_at"] = incident.StartedAt,
                    ["updated_at"] = incident.StartedAt,
                    ["display_at"] = incident.StartedAt,
                    ["affected_components"] = new JsonArray([.. affected.Select(c => (JsonNode?)new JsonObject { ["code"] = c.Id, ["name"] = c.Provider + (c.Model.Length > 0 ? " / " + c.Model : ""), ["old_status"] = "operational", ["new_status"] = c.Status })]),
                }),
                ["components"] = new JsonArray([.. affected.Select(c => (JsonNode?)new JsonObject { ["id"] = c.Id, ["name"] = c.Provider + (c.Model.Length > 0 ? " / " + c.Model : ""), ["status"] = c.Status })]),
            });
        }

        return new JsonObject
        {
            ["page"] = new JsonObject
            {
                ["id"] = PageId,
                ["name"] = "RelayKit",
                ["url"] = pageUrl,
                ["time_zone"] = "Etc/UTC",
                ["updated_at"] = now,
            },
            ["status"] = new JsonObject { ["indicator"] = indicator, ["description"] = description },
            ["components"] = components,
            ["incidents"] = incidents,
            ["scheduled_maintenances"] = new JsonArray(),
        };
    }
}
