namespace RelayKit.AspNetCore.Routing;

/// <summary>
/// Shares what one instance learns about an upstream key with the others (RelayKit.Redis implements it over Redis
/// pub/sub): that its breaker opened, or that it answered 429, and until when it rests.
/// </summary>
internal interface IUpstreamRestShare
{
    /// <summary>Tells the other instances; never throws and never waits for them.</summary>
    void Publish(UpstreamRest rest);

    /// <summary>Calls <paramref name="received"/> for each rest another instance (or this one) published.</summary>
    void Subscribe(Action<UpstreamRest> received);
}

/// <summary>An upstream key resting until <see cref="Until"/>.</summary>
/// <param name="Kind">Why it rests: <see cref="Breaker"/> or <see cref="CoolDown"/>.</param>
/// <param name="Name">
/// For a breaker, <see cref="ModelUpstream.BreakerName(int, string?)"/> (model entry, provider key, upstream model or the model name sent); for a cool-down,
/// the provider key's name (<see cref="UpstreamProvider.KeyName"/>). Never a key's value.
/// </param>
/// <param name="Until">When it may be used again.</param>
internal readonly record struct UpstreamRest(string Kind, string Name, DateTimeOffset Until)
{
    public const string Breaker = "breaker";

    public const string CoolDown = "cooldown";
}
