using System.Globalization;
using System.Text.Json;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Usage;

namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>
/// Reads the ledger (<see cref="IBudgetLedger"/>) and the usage store (<see cref="IUsageStore"/>) after a burst and lists
/// every way they disagree with each other or with what the callers were told. An empty list is the suite's pass:
/// no key spent past its credits, every charge has its usage record at the same cost and the other way round, every
/// answer's charge header is its ledger charge, every 200 was charged and every refusal or upstream error was not, no
/// 500, and every error body in its caller's format.
/// </summary>
internal sealed class LedgerAudit(IBudgetLedger ledger, IUsageStore usage, IReadOnlyCollection<string> keys)
{
    /// <summary>The ledger keeps 15 decimal places: a charge and its record's cost agree to that.</summary>
    private const decimal Tolerance = 0.000000000000001m;

    /// <summary>Waits (bounded) until nothing is held any more and every charge and every answered call has its usage record.</summary>
    public async Task<Snapshot> SettledAsync(IReadOnlyCollection<BurstCall> calls, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var snapshot = await ReadAsync();
            var quiet = snapshot.Held.Values.All(h => h == 0m)
                && snapshot.Charges.Keys.All(snapshot.Records.ContainsKey)
                && calls.All(c => c.RequestId is null || snapshot.Records.ContainsKey(c.RequestId));
            if (quiet || DateTime.UtcNow > deadline)
            {
                return snapshot;
            }

            await Task.Delay(100);
        }
    }

    public async Task<Snapshot> ReadAsync()
    {
        var snapshot = new Snapshot();
        foreach (var key in keys)
        {
            var entries = new List<BudgetEntry>();
            long after = 0;
            while (true)
            {
                var page = await ledger.GetEntriesAsync(key, after, 1000);
                entries.AddRange(page);
                if (page.Count < 1000)
                {
                    break;
                }

                after = page[^1].Sequence;
            }

            snapshot.Credited[key] = entries.Where(e => e.Kind is BudgetEntryKind.TopUp or BudgetEntryKind.FreeCredit).Sum(e => e.Amount);
            snapshot.Charged[key] = entries.Where(e => e.Kind == BudgetEntryKind.Charge).Sum(e => e.Amount);
            snapshot.Held[key] = entries.Where(e => e.Kind == BudgetEntryKind.Reservation).Sum(e => e.Amount)
                - entries.Where(e => e.Kind is BudgetEntryKind.Release or BudgetEntryKind.Expiry).Sum(e => e.Amount);
            snapshot.Balances[key] = await ledger.GetBalanceAsync(key);
            var ended = entries.Where(e => e.Kind is BudgetEntryKind.Release or BudgetEntryKind.Expiry).Select(e => e.RequestId).ToHashSet();
            snapshot.StillHeld[key] = [.. entries.Where(e => e.Kind == BudgetEntryKind.Reservation && !ended.Contains(e.RequestId)).Select(e => e.RequestId ?? "(none)")];
            foreach (var charge in entries.Where(e => e.Kind == BudgetEntryKind.Charge))
            {
                snapshot.Charges.GetOrAdd(charge.RequestId ?? "(none)").Add(charge.Amount);
            }

            await foreach (var record in usage.ReadAsync(new UsageFilter { KeyName = key }, CancellationToken.None))
            {
                snapshot.Records.GetOrAdd(record.RequestId).Add(record);
            }
        }

        return snapshot;
    }

    /// <summary>Every disagreement, one line each, naming the call (tag, kind, fault, what it saw) or the request id.</summary>
    public static List<string> Violations(Snapshot snapshot, IReadOnlyCollection<BurstCall> calls)
    {
        var violations = new List<string>();
        void Fail(string text) => violations.Add(text);
        string Money(decimal? amount) => amount?.ToString(CultureInfo.InvariantCulture) ?? "none";

        // 1. Zero overspend.
        foreach (var (key, credited) in snapshot.Credited)
        {
            var charged = snapshot.Charged[key];
            if (charged > credited)
            {
                Fail($"key {key}: charged {Money(charged)} > credited {Money(credited)}");
            }

            var balance = snapshot.Balances[key];
            if (balance is null || balance.Balance < 0m || balance.Balance != credited - charged)
            {
                Fail($"key {key}: balance {Money(balance?.Balance)}, credited − charged = {Money(credited - charged)}");
            }

            if (snapshot.Held[key] != 0m)
            {
                var held = snapshot.StillHeld[key].Select(id => calls.FirstOrDefault(c => c.RequestId == id)?.ToString() ?? id + " (no caller saw this id)");
                Fail($"key {key}: {Money(snapshot.Held[key])} still held after the burst, by: {string.Join(" | ", held)}");
            }
        }

        // 2. Ledger = usage records, both ways, one of each per request.
        foreach (var (requestId, amounts) in snapshot.Charges)
        {
            if (amounts.Count > 1)
            {
                Fail($"{requestId}: charged {amounts.Count} times ({string.Join(", ", amounts.Select(a => Money(a)))})");
            }

            if (!snapshot.Records.TryGetValue(requestId, out var records))
            {
                Fail($"{requestId}: charged {Money(amounts.Sum())} but has no usage record");
            }
            else if (Math.Abs(records[0].Cost - amounts.Sum()) > Tolerance)
            {
                Fail($"{requestId}: charged {Money(amounts.Sum())} but its usage record says {Money(records[0].Cost)}");
            }
        }

        foreach (var (requestId, records) in snapshot.Records)
        {
            if (records.Count > 1)
            {
                Fail($"{requestId}: {records.Count} usage records");
            }

            if (!snapshot.Charges.ContainsKey(requestId) && records[0].Cost != 0m)
            {
                Fail($"{requestId}: usage record costs {Money(records[0].Cost)} but the ledger charged nothing (status {records[0].StatusCode})");
            }

            // 499: the caller was gone before any answer, and the upstream had not answered either (else the record
            // has its status). Free unless the whole request had been sent upstream (the record then names the
            // provider): the upstream has the prompt and bills it, so the prompt alone is charged, no output. These are
            // the callers that never saw a request id, so this is where their charge is checked.
            if (records[0].StatusCode == 499 && snapshot.Charges.TryGetValue(requestId, out var gone) && gone.Sum() != 0m)
            {
                if (records[0].Provider is null)
                {
                    Fail($"{requestId}: the caller left before the request was sent (499) but was charged {Money(gone.Sum())}");
                }
                else if (records[0].OutputTokens is > 0)
                {
                    Fail($"{requestId}: the caller left before any answer (499) but was charged {records[0].OutputTokens} output tokens");
                }
            }
        }

        // 3 and 4. What each caller was told.
        foreach (var call in calls)
        {
            var charge = call.RequestId is { } id && snapshot.Charges.TryGetValue(id, out var amounts) ? amounts.Sum() : (decimal?)null;
            if (call.Status is null)
            {
                // The relay cuts an OpenAI caller's connection after the error event that ends a stream the upstream
                // broke (README "Errors"); a reset can take the unread headers with it, and the caller sees a failed
                // request. Otherwise a call without an answer is one the relay dropped.
                var cutStream = call.Streamed && call.Fault is FaultKind.ResetMidStream or FaultKind.CutMidStream;
                if (!call.Aborted && !cutStream)
                {
                    Fail($"no answer at all: {call}");
                }

                continue;
            }

            if (call.RequestId is null)
            {
                Fail($"answer without x-request-id: {call}");
                continue;
            }

            if (!snapshot.Records.ContainsKey(call.RequestId))
            {
                Fail($"no usage record: {call}");
            }

            if (call.Status == 500)
            {
                Fail($"500: {call}");
            }

            if (call.Status != 200)
            {
                if (charge is { } refusedCharge && refusedCharge != 0m)
                {
                    Fail($"status {call.Status} but charged {Money(refusedCharge)}: {call}");
                }

                if (!InCallersFormat(call))
                {
                    Fail($"error body not in the caller's format: {call}");
                }

                if (IsStoreUnavailable(call) && call.RetryAfter is null)
                {
                    Fail($"store_unavailable without retry-after: {call}");
                }

                continue;
            }

            // The upstream accepted it (the relay's 200 follows the upstream's): it bills the prompt at least.
            if (charge is not > 0m)
            {
                Fail($"200 but charged {Money(charge)}: {call}");
            }

            if (call.ChargedHeader is { } told && told != charge)
            {
                Fail($"x-relaykit-cost-charged {Money(told)} but the ledger charged {Money(charge)}: {call}");
            }

            if (call.Fault is FaultKind.None or FaultKind.SlowFirstByte && !call.Complete)
            {
                Fail($"a clean answer arrived incomplete: {call}");
            }
        }

        return violations;
    }

    /// <summary>A 503 for a store the relay could not reach.</summary>
    public static bool IsStoreUnavailable(BurstCall call) =>
        call.Status == 503 && (call.Body.Contains("store_unavailable", StringComparison.Ordinal)
            || call.Body.Contains("storage is unavailable", StringComparison.Ordinal));

    /// <summary>OpenAI <c>{"error":{"message","type",…}}</c>; Anthropic <c>{"type":"error","error":{"type","message"}}</c>.</summary>
    private static bool InCallersFormat(BurstCall call)
    {
        try
        {
            using var json = JsonDocument.Parse(call.Body);
            var root = json.RootElement;
            var error = root.GetProperty("error");
            var typed = error.GetProperty("type").ValueKind == JsonValueKind.String
                && error.GetProperty("message").ValueKind == JsonValueKind.String;
            return call.Anthropic ? typed && root.GetProperty("type").GetString() == "error" : typed;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>What the stores held at one moment.</summary>
    internal sealed class Snapshot
    {
        public Dictionary<string, decimal> Credited { get; } = [];

        public Dictionary<string, decimal> Charged { get; } = [];

        public Dictionary<string, decimal> Held { get; } = [];

        public Dictionary<string, BudgetBalance?> Balances { get; } = [];

        public Dictionary<string, List<decimal>> Charges { get; } = [];

        /// <summary>Per key, the request ids whose reservation was neither released nor expired.</summary>
        public Dictionary<string, List<string>> StillHeld { get; } = [];

        public Dictionary<string, List<UsageRecord>> Records { get; } = [];
    }
}
