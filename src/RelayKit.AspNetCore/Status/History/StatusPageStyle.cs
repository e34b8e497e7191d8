namespace RelayKit.AspNetCore.Status.History;

/// <summary>The status page's own CSS and script, passed to the shared frame (<see cref="RelayPageResponses.Document"/>).</summary>
internal static class StatusPageStyle
{
    public const string Css =
        ".banner{border-radius:8px;padding:1rem;font-size:1.2rem;font-weight:600;color:#fff;margin:1rem 0}" +
        ".banner.none{background:var(--ok)}.banner.minor{background:var(--warn)}.banner.major,.banner.critical{background:var(--bad)}" +
        ".component{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem;margin:.5rem 0}" +
        ".component.model{margin-left:1.5rem}.component header{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem}" +
        ".component .name{font-weight:600;overflow-wrap:anywhere}.figures{display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.85rem;color:var(--muted);margin:.3rem 0}" +
        ".bars{display:flex;gap:1px;height:2rem;align-items:stretch}.bars span{flex:1;min-width:1px;border-radius:1px;background:var(--none)}" +
        ".bars .b-ok{background:var(--ok)}.bars .b-minor{background:#7fc97f}.bars .b-major{background:var(--warn)}.bars .b-bad{background:var(--bad)}" +
        ".axis{display:flex;justify-content:space-between;font-size:.75rem;color:var(--muted)}" +
        "#incidents li{margin:.3rem 0}@media (max-width:40rem){.component.model{margin-left:.5rem}}";

    /// <summary>Refreshes the live part from the page itself every 10 seconds (the server renders it; nothing here builds markup from data).</summary>
    public const string Script =
        "setInterval(async()=>{try{const r=await fetch(location.href,{headers:{Accept:'text/html'}});if(!r.ok)return;" +
        "const d=new DOMParser().parseFromString(await r.text(),'text/html');const n=d.getElementById('live'),o=document.getElementById('live');" +
        "if(n&&o){o.replaceWith(document.adoptNode(n));}}catch(e){}},10000);";
}
