using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Usage;
using RelayKit.AspNetCore.Usage.Stores;
using Xunit.Abstractions;

namespace RelayKit.AspNetCore.Tests.Durability;

/// <summary>
/// The relay in a process of its own (the MinimalApi sample on its embedded fake upstream, SQLite ledger and usage files)
/// killed with SIGKILL while streamed and non-streamed requests of a metered key are in flight, then started again on
/// the same files: no request whose answer the caller received completely loses its charge or its usage record, each
/// record's cost is its charge, and the ledger and the usage records agree to the cent for the requests cut mid-way.
/// </summary>
public sealed class KillNineTests(ITestOutputHelper output)
{
    private const string Secret = "rk-kill-nine-test-key";
    private const int Workers = 12;

    [Fact]
    public async Task Kill_9_in_the_middle_of_traffic_loses_no_completed_request_charge_or_record()
    {
        var folder = Path.Combine(Path.GetTempPath(), "relaykit-kill9-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var ledgerPath = Path.Combine(folder, "budgets.db");
        var usagePath = Path.Combine(folder, "usage.db");
        try
        {
            var port = FreePort();
            var results = new List<Outcome>();
            using (var relay = Start(port, ledgerPath, usagePath))
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(20) };
                await WaitUntilListeningAsync(http, relay);

                // Steady traffic, then SIGKILL while the workers keep sending: some requests are always in flight.
                using var stop = new CancellationTokenSource();
                var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => SendUntilStoppedAsync(http, w, stop.Token))).ToList();
                await WaitForCompletedAsync(workers, minimum: 60);
                relay.Kill(entireProcessTree: true);
                await relay.WaitForExitAsync();
                await stop.CancelAsync();
                foreach (var worker in workers)
                {
                    results.AddRange(await worker);
                }
            }

            // Started again on the same files: it lands what the outbox and the spool hold, then is stopped.
            using (var relay = Start(port, ledgerPath, usagePath))
            {
                using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                await WaitUntilListeningAsync(http, relay);
                await WaitUntilDrainedAsync(ledgerPath);
                relay.Kill(entireProcessTree: true);
                await relay.WaitForExitAsync();
            }

            SqliteConnection.ClearAllPools();
            var charges = await ChargesAsync(ledgerPath);
            var records = await RecordsAsync(usagePath);
            var completed = results.Where(r => r.Completed).ToList();
            var cut = results.Where(r => !r.Completed && r.RequestId is not null).ToList();
            var lost = results.Count(r => r.RequestId is null);
            output.WriteLine($"completed {completed.Count} (streamed {completed.Count(r => r.Streamed)}), cut mid-answer {cut.Count}, no answer at all {lost}");
            output.WriteLine($"cut mid-answer and charged+recorded: {cut.Count(r => records.ContainsKey(r.RequestId!))}; cut and neither: {cut.Count(r => !records.ContainsKey(r.RequestId!) && !charges.ContainsKey(r.RequestId!))}");
            Assert.True(completed.Count >= 60, $"only {completed.Count} requests completed before the kill");
            var unbacked = completed.Where(r => !charges.ContainsKey(r.RequestId!) || !records.ContainsKey(r.RequestId!)).ToList();
            Assert.True(unbacked.Count == 0, "completed without a charge or a record: " + string.Join(", ", unbacked.Select(r =>
                $"{r.RequestId} (streamed {r.Streamed}, charged {charges.ContainsKey(r.RequestId!)}, recorded {records.ContainsKey(r.RequestId!)})")));

            foreach (var request in completed)
            {
                var charge = Assert.Single(charges[request.RequestId!]);
                Assert.True(charge > 0m, $"{request.RequestId} completed but was charged nothing");
                Assert.True(records.TryGetValue(request.RequestId!, out var record), $"{request.RequestId} completed but has no usage record");
                Assert.Equal(UsageStoreArguments.ToPico(charge), UsageStoreArguments.ToPico(record.Cost));
            }

            // Every charge has its record and every record its charge (the requests cut by the kill included).
            foreach (var (requestId, amounts) in charges)
            {
                Assert.True(records.TryGetValue(requestId, out var record), $"{requestId} was charged but has no usage record");
                Assert.Equal(UsageStoreArguments.ToPico(Assert.Single(amounts)), UsageStoreArguments.ToPico(record.Cost));
            }

            Assert.All(records.Values.Where(r => r.Cost > 0m), r => Assert.True(charges.ContainsKey(r.RequestId), $"{r.RequestId} records a cost no charge backs"));
            Assert.Equal(
                charges.Values.Sum(a => a.Sum(UsageStoreArguments.ToPico)),
                records.Values.Sum(r => UsageStoreArguments.ToPico(r.Cost)));

            var balance = await BalanceAsync(ledgerPath);
            Assert.True(balance.Balance >= 0m && balance.Available >= 0m, $"balance {balance.Balance}, available {balance.Available}");
            Assert.Equal(100m - charges.Values.Sum(a => a.Sum()), balance.Balance);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A file still held by a dying process; the temp folder is cleaned by the system.
            }
        }
    }

    private sealed record Outcome(string? RequestId, bool Streamed, bool Completed);

    private async Task WaitForCompletedAsync(List<Task<List<Outcome>>> workers, int minimum)
    {
        // Workers report through their own lists; a counter says how many completed so far.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Volatile.Read(ref _completed) < minimum)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {_completed} requests completed in 20 s");
            Assert.DoesNotContain(workers, w => w.IsFaulted);
            await Task.Delay(20);
        }
    }

    private int _completed;

    private async Task<List<Outcome>> SendUntilStoppedAsync(HttpClient http, int worker, CancellationToken stop)
    {
        var outcomes = new List<Outcome>();
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var streamed = (worker + i) % 2 == 0;
            var body = $$"""{"model":"gpt-5.5","max_tokens":60,"stream":{{(streamed ? "true" : "false")}},"messages":[{"role":"user","content":"Request {{worker}}-{{i}}: tell me about ledgers."}]}""";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
            string? requestId = null;
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, CancellationToken.None);
                requestId = response.Headers.TryGetValues("x-request-id", out var ids) ? ids.Single() : null;
                // Read as an SDK reads: a stream is complete for its caller once [DONE] arrived, whether or not the body's
                // end followed it before the kill, so what was read is kept when the connection breaks.
                var received = new StringBuilder();
                var broken = false;
                try
                {
                    await using var content = await response.Content.ReadAsStreamAsync(CancellationToken.None);
                    using var reader = new StreamReader(content, Encoding.UTF8);
                    var buffer = new char[4096];
                    int read;
                    while ((read = await reader.ReadAsync(buffer, CancellationToken.None)) > 0)
                    {
                        received.Append(buffer, 0, read);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    broken = true;
                }

                var text = received.ToString();
                var completed = response.StatusCode == HttpStatusCode.OK
                    && (streamed ? text.Contains("data: [DONE]", StringComparison.Ordinal) : !broken && text.TrimEnd().EndsWith('}'));
                outcomes.Add(new Outcome(requestId, streamed, completed));
                if (completed)
                {
                    Interlocked.Increment(ref _completed);
                }

                if (broken)
                {
                    return outcomes; // the process died under this request
                }

                if (!completed && response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"The relay answered {(int)response.StatusCode}: {text}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                // The process died under this request: cut mid-answer (its id known) or before any answer.
                outcomes.Add(new Outcome(requestId, streamed, false));
                return outcomes;
            }
        }

        return outcomes;
    }

    private Process Start(int port, string ledgerPath, string usagePath)
    {
        var dll = SampleDll();
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var environment = start.Environment;
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        environment["Logging__LogLevel__Default"] = "Warning";
        environment["ModelRelay__Keys__0__Name"] = "alice";
        environment["ModelRelay__Keys__0__Secret"] = Secret;
        environment["ModelRelay__Keys__0__Budget"] = "100";
        environment["ModelRelay__Budgets__Store"] = "Sqlite";
        environment["ModelRelay__Budgets__SqlitePath"] = ledgerPath;
        environment["ModelRelay__Usage__Store"] = "Sqlite";
        environment["ModelRelay__Usage__SqlitePath"] = usagePath;
        environment.Remove("OPENAI_API_KEY");
        environment.Remove("ANTHROPIC_API_KEY");
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                output.WriteLine("relay: " + line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The sample's build output, next to this test project's (the test project references it, so it is built).</summary>
    private static string SampleDll()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "RelayKit.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var dll = Path.Combine(root.FullName, "samples", "MinimalApi", "bin", configuration, framework, "MinimalApi.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        return dll;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilListeningAsync(HttpClient http, Process relay)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Assert.False(relay.HasExited, "the relay process exited at start");
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
                using var response = await http.SendAsync(request);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            Assert.True(DateTime.UtcNow < deadline, "the relay did not start listening in 30 s");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until the restarted relay has emptied the usage outbox and the settle spool.</summary>
    private static async Task WaitUntilDrainedAsync(string ledgerPath)
    {
        var spool = Path.ChangeExtension(ledgerPath, ".settle-spool.db");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await CountAsync(ledgerPath, "usage_outbox") > 0 || (File.Exists(spool) && await CountAsync(spool, "settle_spool") > 0))
        {
            Assert.True(DateTime.UtcNow < deadline, "the restarted relay did not drain the outbox and the spool in 30 s");
            await Task.Delay(100);
        }
    }

    private static async Task<long> CountAsync(string path, string table)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Dictionary<string, List<decimal>>> ChargesAsync(string ledgerPath)
    {
        await using var store = new SqliteLedgerStore(ledgerPath);
        var ledger = new BudgetLedger(store, new FakeTimeProvider(), NullLogger<BudgetLedger>.Instance);
        return (await ledger.GetEntriesAsync("alice", 0, 1_000_000))
            .Where(e => e.Kind == BudgetEntryKind.Charge)
            .GroupBy(e => e.RequestId!)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Amount).ToList());
    }

    private static async Task<BudgetBalance> BalanceAsync(string ledgerPath)
    {
        await using var store = new SqliteLedgerStore(ledgerPath);
        var ledger = new BudgetLedger(store, new FakeTimeProvider(), NullLogger<BudgetLedger>.Instance);
        return (await ledger.GetBalanceAsync("alice"))!;
    }

    private static async Task<Dictionary<string, UsageRecord>> RecordsAsync(string usagePath)
    {
        var store = new SqliteUsageStore(usagePath);
        {
            var records = new Dictionary<string, UsageRecord>();
            await foreach (var record in store.ReadAsync(UsageFilter.All, CancellationToken.None))
            {
                Assert.True(records.TryAdd(record.RequestId, record), $"two usage records of {record.RequestId}");
            }

            return records;
        }
    }
}
