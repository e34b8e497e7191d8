using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Admission;

/// <summary>
/// Step 4 of the request path: decides whether a routed request may go upstream (rate limits, budget
/// reservation). <see cref="Hosting.RelayPipeline"/> orders them; the first error stops the request.
/// </summary>
internal interface IRelayAdmission
{
    ValueTask<RelayError?> AdmitAsync(RelayRequestContext context);
}
