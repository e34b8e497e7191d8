using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/RelayKit.Benchmarks -- --filter '*'            (full runs)
// dotnet run -c Release --project bench/RelayKit.Benchmarks -- --filter '*' --job short (quick look)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
