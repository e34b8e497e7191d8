using RelayKit.Testing;

namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>
/// The fake upstream's side of a burst: each upstream fault is played for the requests whose prompt names it, and every
/// answer is the same text (about 40 output tokens), so costs stay small and budgets run out within a burst.
/// </summary>
internal static class FaultScript
{
    public const string Answer =
        "The relay kept count of every token it passed along, and the ledger agreed with it to the last digit, " +
        "even when the line went quiet halfway and the caller hung up before the end of this short story.";

    /// <summary>How long the upstream waits before answering a caller that will abort first; far longer than that abort.</summary>
    public static readonly TimeSpan AbortedWait = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan SlowFirstByte = TimeSpan.FromMilliseconds(300);

    public static string Mark(FaultKind fault) => "[fault:" + fault + "]";

    public static void Apply(FakeUpstream fake)
    {
        Rule(fake, FaultKind.UpstreamError, FakeFault.ServerError(502));
        Rule(fake, FaultKind.ResetBeforeHeaders, FakeFault.ConnectionReset());
        Rule(fake, FaultKind.ResetMidStream, FakeFault.ConnectionReset(2));
        Rule(fake, FaultKind.CutMidStream, FakeFault.CutStreamAfter(2));
        Rule(fake, FaultKind.SlowFirstByte, FakeFault.Latency(SlowFirstByte));
        Rule(fake, FaultKind.AbortAfterFirstEvent, FakeFault.Latency(TimeSpan.Zero, TimeSpan.FromMilliseconds(20)));
        Rule(fake, FaultKind.AbortBeforeHeaders, FakeFault.Latency(AbortedWait));
        fake.Setup().RespondWithText(Answer);
    }

    /// <summary>The faults that apply to a request of this kind (mid-stream faults and aborts only to streams).</summary>
    public static FaultKind[] For(CallKind kind) => kind is CallKind.ChatStream or CallKind.MessagesStream
        ? Enum.GetValues<FaultKind>()
        : [FaultKind.None, FaultKind.UpstreamError, FaultKind.ResetBeforeHeaders, FaultKind.SlowFirstByte, FaultKind.AbortBeforeHeaders];

    private static void Rule(FakeUpstream fake, FaultKind fault, FakeFault play) =>
        fake.Setup().WhenLastUserMessageContains(Mark(fault)).RespondWithText(Answer).WithFault(play);
}
