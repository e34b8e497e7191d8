using RelayKit.AspNetCore.Budgets;

namespace RelayKit.AspNetCore.Tests.Budgets;

public sealed class InMemoryBudgetLedgerTests : BudgetLedgerContract
{
    private readonly InMemoryLedgerStore _store = new();

    // Two "instances" share one store: the closest in-process analogue of shared storage.
    internal override ILedgerStore CreateStore() => _store;
}
