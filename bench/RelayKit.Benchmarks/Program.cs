using BenchmarkDotNet.Running;
using RelayKit.Benchmarks;

// dotnet run -c Release --project bench/RelayKit.Benchmarks -- --filter '*'            (full runs)
// dotnet run -c Release --project bench/RelayKit.Benchmarks -- --filter '*' --job short (quick look)
// dotnet run -c Release --project bench/RelayKit.Benchmarks -- fake-cpu [requests] [name] (the fake's CPU µs per generated answer)
// dotnet run -c Release --project bench/RelayKit.Benchmarks -- ledger-cpu [requests] [store] (the ledger's CPU µs per reserve + settle, 32 at once)
if (args is ["fake-cpu", ..])
{
    await FakeAnswerCpu.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000, args.Length > 2 ? args[2] : null);
    return;
}

if (args is ["ledger-cpu", ..])
{
    await LedgerCpu.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5_000, args.Length > 2 ? args[2] : null);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
