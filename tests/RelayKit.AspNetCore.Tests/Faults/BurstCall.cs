using System.Globalization;

namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>One request of a burst: what was planned (kind, fault, key) and what the caller saw.</summary>
internal sealed class BurstCall(int burst, int index, CallKind kind, FaultKind fault, string key)
{
    public int Burst { get; } = burst;

    public int Index { get; } = index;

    public CallKind Kind { get; } = kind;

    public FaultKind Fault { get; } = fault;

    /// <summary>The relay key's name (its ledger account).</summary>
    public string Key { get; } = key;

    /// <summary>A mark in the prompt that names the call (in the fake upstream's request log and in failure messages).</summary>
    public string Tag => string.Create(CultureInfo.InvariantCulture, $"[req-{Burst}-{Index:D4}]");

    public bool Streamed => Kind is CallKind.ChatStream or CallKind.MessagesStream;

    public bool Anthropic => Kind is CallKind.MessagesJson or CallKind.MessagesStream;

    /// <summary>Which relay instance it went to.</summary>
    public int Instance { get; set; }

    /// <summary>The status the caller got; null when no header came back (the caller aborted, the connection failed).</summary>
    public int? Status { get; set; }

    public string? RequestId { get; set; }

    /// <summary><c>x-relaykit-cost-charged</c>, when the answer carried it.</summary>
    public decimal? ChargedHeader { get; set; }

    public string? RetryAfter { get; set; }

    /// <summary>The body as far as the caller read it.</summary>
    public string Body { get; set; } = "";

    /// <summary>A 200 whose body is whole: a parsed answer, or a stream that reached its terminator without an error event.</summary>
    public bool Complete { get; set; }

    /// <summary>The caller cancelled as planned.</summary>
    public bool Aborted { get; set; }

    /// <summary>What failed on the caller's side other than a planned abort (a reset relayed as a broken response).</summary>
    public string? ClientFailure { get; set; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Tag} {Kind} fault={Fault} key={Key} instance={Instance} status={Status?.ToString(CultureInfo.InvariantCulture) ?? "none"} id={RequestId ?? "none"} " +
        $"charged-header={ChargedHeader?.ToString(CultureInfo.InvariantCulture) ?? "none"} complete={Complete} aborted={Aborted} client-failure={ClientFailure ?? "none"} " +
        $"body={(Body.Length > 300 ? Body[..300] + "…" : Body)}");
}
