namespace RelayKit.Testing.State;

/// <summary>
/// Where a response created with <c>background: true</c> is. The fake answers at once, so a background
/// response is queued until it is first retrieved and completed from then on; cancelling it while queued
/// is what <c>POST /v1/responses/{id}/cancel</c> can do.
/// </summary>
internal enum ResponseBackground
{
    /// <summary>Not a background response: it cannot be cancelled.</summary>
    None,

    Queued,

    Completed,

    Cancelled,
}
