namespace RelayKit.AspNetCore;

/// <summary>One of the upstreams that serve a model (<see cref="ModelRelayModelOptions.Upstreams"/>).</summary>
public sealed class ModelRelayUpstreamOptions
{
    /// <summary>The name of the provider (a key of <see cref="ModelRelayOptions.Providers"/>). Required.</summary>
    public string? Provider { get; set; }

    /// <summary>The model name this provider knows (a deployment name, say); unset sends the name the caller used.</summary>
    public string? UpstreamModel { get; set; }

    /// <summary>Lower is tried first; the next priority serves only when every upstream of this one failed or is resting. Default 0.</summary>
    public int Priority { get; set; }

    /// <summary>This upstream's share of its priority's requests, relative to the others' weights. Default 1.</summary>
    public int Weight { get; set; } = 1;
}
