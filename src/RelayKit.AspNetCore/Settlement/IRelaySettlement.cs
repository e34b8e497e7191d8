namespace RelayKit.AspNetCore.Settlement;

/// <summary>
/// Step 7 of the request path: runs once for every admitted request after forwarding ended, however it
/// ended (see the outcome section of <see cref="RelayRequestContext"/>), to charge, release and record.
/// </summary>
internal interface IRelaySettlement
{
    ValueTask SettleAsync(RelayRequestContext context);
}
