using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RelayKit.Testing;

/// <summary>Hosts a <see cref="FakeUpstream"/> inside an ASP.NET Core app.</summary>
public static class FakeUpstreamEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the fake's OpenAI and Anthropic endpoints (<c>/v1/...</c>) under <paramref name="prefix"/>,
    /// answering every path below it, so unknown paths get the provider's own 404.
    /// </summary>
    /// <param name="endpoints">The app's endpoints.</param>
    /// <param name="fake">The fake to serve.</param>
    /// <param name="prefix">A path prefix such as <c>/fake</c>; empty for the root.</param>
    /// <returns>The convention builder of the catch-all endpoint.</returns>
    public static IEndpointConventionBuilder MapFakeUpstream(this IEndpointRouteBuilder endpoints, FakeUpstream fake, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(fake);
        var trimmed = "/" + prefix.Trim('/');
        var pattern = trimmed == "/" ? "/{**path}" : trimmed + "/{**path}";
        return endpoints.Map(pattern, (HttpContext context, string? path) => fake.HandleAsync(context, "/" + (path ?? "")))
            .WithDisplayName("RelayKit fake upstream");
    }
}
