namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The usage and billing page's own CSS, added after the shared frame (<see cref="Status.RelayPageResponses"/>): colours
/// come from the frame's custom properties, so the page follows the viewer's light or dark setting.
/// </summary>
internal static class UsagePageStyle
{
    public const string Css =
        "[hidden]{display:none!important}#key-form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}#key-form input{flex:1 1 16rem;min-width:0}" +
        "#forget{background:var(--card);color:var(--fg);border-color:var(--line)}" +
        ".money{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem;margin:0}" +
        ".money div{background:var(--head);border-radius:6px;padding:.5rem .75rem}.money dt{color:var(--muted);font-size:.85rem}" +
        ".money dd{margin:0;font-size:1.25rem;font-variant-numeric:tabular-nums}" +
        "#chart{width:100%;height:auto;max-width:640px;display:block}#chart .bar{fill:var(--accent)}#chart line{stroke:var(--line)}#chart text{fill:var(--muted)}" +
        ".bars{list-style:none;margin:.5rem 0;padding:0}.bars li{display:grid;grid-template-columns:minmax(6rem,14rem) 1fr auto;gap:.5rem;align-items:center;margin:.25rem 0}" +
        ".bars .label{overflow-wrap:anywhere}.bars .track{background:var(--head);border-radius:4px;height:.9rem;overflow:hidden}" +
        ".bars .fill{display:block;height:100%;background:var(--accent);min-width:1px}.bars .value{font-variant-numeric:tabular-nums;text-align:right}" +
        "tr.refund td.num{color:var(--bad)}tr.free_credit td.num{color:var(--ok)}td.ref{overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}" +
        "#credits td:first-child,#recent td:first-child{white-space:nowrap}#refund-policy{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}" +
        "@media (max-width:40rem){.bars li{grid-template-columns:1fr auto}.bars .track{grid-column:1 / -1;grid-row:2}}";
}
