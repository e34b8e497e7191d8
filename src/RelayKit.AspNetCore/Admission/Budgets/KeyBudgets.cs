using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Admission.Budgets;

/// <summary>
/// Which keys are metered (those configured with a <c>Budget</c>) and their initial credit: the
/// configured budget is topped up once per key with the ledger reference <c>initial:&lt;name&gt;</c>, on the
/// key's first use, so a restart or a second relay instance never credits it twice.
/// </summary>
internal sealed class KeyBudgets(IOptionsMonitor<ModelRelayOptions> options, IBudgetLedger ledger)
{
    private readonly ConcurrentDictionary<string, bool> _opened = new(StringComparer.Ordinal);

    /// <summary>The key's configured budget, or null when the key is unmetered.</summary>
    public decimal? BudgetOf(string keyName) => Configured(keyName)?.Budget;

    /// <summary>
    /// Whether the key's requests reserve and charge money: a configured key when it has a <c>Budget</c>; a key
    /// created through the operations API always (it exists to spend its ledger balance, so an empty
    /// balance refuses rather than serving for free).
    /// </summary>
    public bool IsMetered(string keyName) =>
        Configured(keyName) is not { } configured || configured.Budget is not null;

    /// <summary>Credits the key's configured budget if this process has not done so yet (idempotent in the ledger).</summary>
    public async Task EnsureOpenedAsync(string keyName, CancellationToken cancellationToken)
    {
        if (_opened.ContainsKey(keyName) || BudgetOf(keyName) is not { } budget)
        {
            return;
        }

        if (budget == 0m)
        {
            // Metered from an empty balance: nothing to credit (a top-up through the operations API fills it).
            _opened[keyName] = true;
            return;
        }

        await ledger.TopUpAsync(keyName, budget, "initial:" + keyName, cancellationToken);
        _opened[keyName] = true;
    }

    /// <summary>The key as configured (<c>ModelRelay:Keys</c>); null for a key created through the operations API.</summary>
    public ModelRelayKeyOptions? Configured(string keyName) =>
        options.CurrentValue.Keys.FirstOrDefault(k => string.Equals(k.Name, keyName, StringComparison.Ordinal));
}
