using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace RelayKit.AspNetCore.Status.History;

/// <summary>
/// The status page's top, rendered on the server so it shows every figure with scripts off: the overall banner, one row
/// per provider and per model with its 90 daily bars (each with its day and uptime in <c>title</c>), and the incidents.
/// </summary>
internal static class StatusPageHtml
{
    public static void Append(StringBuilder html, StatusReport report)
    {
        var (indicator, description) = StatusSummaryJson.Overall(report);
        html.Append("<h1>Relay status</h1><div id=\"banner\" class=\"banner ").Append(indicator).Append("\">").Append(E(description)).Append("</div>")
            .Append("<p class=\"muted\">Uptime is the share of minutes with traffic in which an upstream was up, from every instance sharing the store. ")
            .Append("Updated ").Append(E(report.Now.ToString("u", CultureInfo.InvariantCulture))).Append(" (UTC); this page refreshes itself. ")
            .Append("<a href=\"status/summary.json\">summary.json</a></p><section id=\"components\">");
        foreach (var c in report.Components)
        {
            var name = c.Model.Length == 0 ? c.Provider : c.Model;
            html.Append("<div class=\"component ").Append(c.Model.Length == 0 ? "provider" : "model").Append("\" data-id=\"").Append(c.Id).Append("\"><header><span class=\"name\">")
                .Append(E(name)).Append("</span><span class=\"state ").Append(c.Status).Append("\">").Append(E(c.Status.Replace('_', ' '))).Append("</span></header>")
                .Append("<div class=\"figures\"><span class=\"health\">health: ").Append(E(c.Health)).Append("</span><span class=\"breakers\">breakers: ").Append(E(c.Breakers)).Append("</span>");
            for (var i = 0; i < StatusReport.UptimeWindows.Length; i++)
            {
                html.Append("<span class=\"uptime\" data-window=\"").Append(StatusReport.UptimeWindows[i]).Append("\">").Append(StatusReport.UptimeWindows[i]).Append(": ").Append(Percent(c.Uptime[i])).Append("</span>");
            }

            html.Append("<span class=\"errors\">errors 24 h: ").Append(Percent(c.ErrorRate)).Append("</span><span class=\"latency\">p50/p95/p99: ")
                .Append(string.Join(" / ", c.Latency.Select(Millis))).Append("</span></div><div class=\"bars\" role=\"img\" aria-label=\"90-day uptime\">");
            var firstDay = DateOnly.FromDateTime(report.Now.UtcDateTime).AddDays(1 - StatusReport.BarDays);
            for (var d = 0; d < c.Days.Count; d++)
            {
                var uptime = c.Days[d];
                var cls = uptime is not { } u ? "b-none" : u >= 0.999 ? "b-ok" : u >= 0.99 ? "b-minor" : u >= 0.95 ? "b-major" : "b-bad";
                html.Append("<span class=\"").Append(cls).Append("\" title=\"").Append(firstDay.AddDays(d).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append(": ")
                    .Append(uptime is null ? "no traffic" : Percent(uptime) + " uptime").Append("\"></span>");
            }

            html.Append("</div><div class=\"axis\"><span>90 days ago</span><span>today</span></div></div>");
        }

        html.Append("</section><h2>Incidents</h2><ul id=\"incidents\">");
        if (report.Incidents.Count == 0)
        {
            html.Append("<li class=\"muted\">No incidents in the last 90 days.</li>");
        }

        foreach (var incident in report.Incidents)
        {
            var duration = incident.Duration(report.Now);
            html.Append("<li class=\"incident ").Append(incident.EndedAt is null ? "open" : "ended").Append("\"><strong>").Append(E(incident.Title)).Append("</strong> — ")
                .Append(E(incident.StartedAt.ToString("u", CultureInfo.InvariantCulture)))
                .Append(incident.EndedAt is { } ended ? " to " + E(ended.ToString("u", CultureInfo.InvariantCulture)) : ", ongoing")
                .Append(" (").Append(E(duration.TotalHours >= 1 ? $"{(int)duration.TotalHours} h {duration.Minutes} min" : $"{(int)duration.TotalMinutes} min {duration.Seconds} s")).Append(")</li>");
        }

        html.Append("</ul>");
    }

    private static string E(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    private static string Percent(double? value) => value is null ? "—" : (value.Value * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    private static string Millis(TimeSpan? value) => value is null ? "—" : value.Value.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";
}
