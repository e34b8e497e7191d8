using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Usage;
using RelayKit.Tests.Shared;
using Xunit.Abstractions;

namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>
/// Issue 19's fault-injection suite: bursts of metered requests over real HTTP (streamed and whole, OpenAI chat and
/// Anthropic messages) with random upstream faults, caller aborts and a store outage mid-burst, on small budgets and
/// rate limits — one instance on SQLite, and two instances on one PostgreSQL ledger and usage schema sharing one Redis
/// limiter. After every burst the ledger, the usage records and what the callers were told must agree
/// (<see cref="LedgerAudit"/>). The faults come from a seeded <see cref="Random"/>: the seed is in every failure
/// message, and <c>RELAYKIT_FAULT_SEED</c> replays it.
/// </summary>
[Collection(FaultInjectionCollection.Name)]
public sealed class FaultInjectionTests(ITestOutputHelper output)
{
    private const int Bursts = 3;
    private const int RequestsPerBurst = 120;
    private const string CarolKey = "rk-test-carol-5d1e";

    /// <summary>What each key gets before each burst: about 20 answers' worth, fewer than a burst asks for.</summary>
    private const decimal Credit = 0.01m;

    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(1.5);

    private static readonly Dictionary<string, string> Secrets = new()
    {
        ["alice"] = RelaySettings.AliceKey,
        ["carol"] = CarolKey,
    };

    [Fact]
    public async Task One_SQLite_instance_keeps_ledger_usage_and_answers_equal_through_faults_and_a_busy_store()
    {
        var folder = Directory.CreateTempSubdirectory("relaykit-faults-");
        var ledgerPath = Path.Combine(folder.FullName, "ledger.db");
        var usagePath = Path.Combine(folder.FullName, "usage.db");
        try
        {
            // The outage: another writer holds both files exclusively for a while, as a backup or a second process would.
            await RunBurstsAsync(1, s =>
            {
                s["ModelRelay:Budgets:Store"] = "Sqlite";
                s["ModelRelay:Budgets:SqlitePath"] = ledgerPath;
                s["ModelRelay:Budgets:LeaseRequests"] = "4";
                s["ModelRelay:Usage:Store"] = "Sqlite";
                s["ModelRelay:Usage:SqlitePath"] = usagePath;
            }, burst => burst == 1 ? () => HoldExclusiveAsync(ledgerPath, usagePath) : null);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task Two_instances_on_PostgreSQL_and_Redis_keep_ledger_usage_and_answers_equal_through_faults_and_outages()
    {
        var postgres = new NpgsqlConnectionStringBuilder(TestServers.RequirePostgres());
        var redis = TestServers.RequireRedis();
        var redisAddress = redis.Split(',')[0];
        var redisPort = int.Parse(redisAddress[(redisAddress.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        await using var postgresProxy = new TcpFaultProxy(postgres.Host!, postgres.Port);
        await using var redisProxy = new TcpFaultProxy(redisAddress[..redisAddress.LastIndexOf(':')], redisPort);

        // Both instances reach both servers through the proxies; each keeps its pool small, as other tests share the server.
        var proxied = new NpgsqlConnectionStringBuilder(postgres.ConnectionString)
        {
            Host = "127.0.0.1",
            Port = postgresProxy.Port,
            MaxPoolSize = 15,
            Timeout = 3,
        }.ConnectionString;
        var schema = PostgreSqlTestSchema.NewName("rk_faults");
        var limiterPrefix = "relaykit-faults-" + Guid.NewGuid().ToString("N");
        void Shared(Dictionary<string, string?> s)
        {
            s["ModelRelay:Budgets:Store"] = "PostgreSql";
            s["ModelRelay:Budgets:PostgreSqlConnectionString"] = proxied;
            s["ModelRelay:Budgets:PostgreSqlSchema"] = schema;
            s["ModelRelay:Usage:Store"] = "PostgreSql";
            s["ModelRelay:Usage:PostgreSqlConnectionString"] = proxied;
            s["ModelRelay:Usage:PostgreSqlSchema"] = schema;
            s["ModelRelay:RateLimits:Redis"] = $"127.0.0.1:{redisProxy.Port.ToString(CultureInfo.InvariantCulture)},connectTimeout=1000";
            s["ModelRelay:RateLimits:RedisKeyPrefix"] = limiterPrefix;
        }

        try
        {
            // Burst 2 loses PostgreSQL (ledger and usage) for a while, burst 3 loses Redis (the limiter fails open).
            await RunBurstsAsync(2, Shared, burst => burst switch
            {
                1 => () => postgresProxy.CutAsync(Outage),
                2 => () => redisProxy.CutAsync(Outage),
                _ => null,
            });
            Assert.True(postgresProxy.Cuts > 0, "the PostgreSQL outage cut no connection");
            Assert.True(redisProxy.Cuts > 0, "the Redis outage cut no connection");
        }
        finally
        {
            await PostgreSqlTestSchema.DropAsync(postgres.ConnectionString, schema);
        }
    }

    /// <summary>A relay on Kestrel (loopback) in front of the fake upstream on Kestrel, with alice and carol metered and limited.</summary>
    private static async Task<FakeRelay> StartAsync(Action<Dictionary<string, string?>> storage)
    {
        var relay = await FakeRelay.CreateOverSocketsAsync(Settings(storage));
        FaultScript.Apply(relay.Fake);
        relay.App.UseKestrel(0);
        relay.App.StartServer();
        return relay;
    }

    private static Action<Dictionary<string, string?>> Settings(Action<Dictionary<string, string?>> storage) => BudgetRelay.Settings(Credit, s =>
        {
            s["ModelRelay:Keys:2:Name"] = "carol";
            s["ModelRelay:Keys:2:Secret"] = CarolKey;
            s["ModelRelay:Keys:2:Models:0"] = "gpt-*";
            s["ModelRelay:Keys:2:Models:1"] = "claude-*";
            s["ModelRelay:Keys:2:Budget"] = Credit.ToString(CultureInfo.InvariantCulture);
            foreach (var key in new[] { 0, 2 })
            {
                s[$"ModelRelay:Keys:{key}:MaxConcurrentRequests"] = "6";
                s[$"ModelRelay:Keys:{key}:RequestsPerMinute"] = "100000";
            }

            // alice's requests wait for a slot, so her budget is what refuses them; carol's are refused at once.
            s["ModelRelay:Keys:0:QueueTimeout"] = "00:00:10";

            storage(s);
        });

    /// <summary>
    /// Starts the instances, runs the bursts (auditing after each), stops the instances (they drain: queued usage records
    /// are written, settles still failing are retried while the host stops) and audits once more from a new host on the
    /// same stores, which is what is left once every relay is gone.
    /// </summary>
    private async Task RunBurstsAsync(int instances, Action<Dictionary<string, string?>> storage, Func<int, Func<Task>?> outageOf)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RELAYKIT_FAULT_SEED"), CultureInfo.InvariantCulture, out var replay)
            ? replay
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (RELAYKIT_FAULT_SEED={seed} replays this run's faults)");

        var relays = new List<FakeRelay>();
        var clients = new List<HttpClient>();
        var calls = new List<BurstCall>();
        try
        {
            for (var i = 0; i < instances; i++)
            {
                relays.Add(await StartAsync(storage));
                using var probe = relays[i].App.CreateClient();
                clients.Add(FaultBurst.ClientFor(probe.BaseAddress!));
            }

            var burst = new FaultBurst(new Random(seed), clients, Secrets);
            var ledger = relays[0].Ledger();
            var audit = new LedgerAudit(ledger, relays[0].App.Services.GetRequiredService<IUsageStore>(), Secrets.Keys);
            for (var b = 0; b < Bursts; b++)
            {
                if (b > 0)
                {
                    foreach (var key in Secrets.Keys)
                    {
                        var topUp = await ledger.TopUpAsync(key, Credit, $"faults-{key}-burst-{b}");
                        Assert.Equal(RelayKit.AspNetCore.Budgets.CreditStatus.Applied, topUp.Status);
                    }
                }

                var planned = burst.Plan(b, RequestsPerBurst);
                var outage = outageOf(b);
                await burst.RunAsync(planned, outage, outageAfter: RequestsPerBurst / 4);
                calls.AddRange(planned);

                var snapshot = await audit.SettledAsync(calls, TimeSpan.FromSeconds(30));
                var violations = LedgerAudit.Violations(snapshot, calls);
                var summary = Summary(planned, snapshot);
                output.WriteLine($"burst {b}: {summary}");
                Assert.True(violations.Count == 0,
                    $"seed {seed}, burst {b} ({summary}): {violations.Count} violations:\n" + string.Join("\n", violations.Take(25)) +
                    "\nwarnings and errors the relays logged:\n" + LoggedTrouble(relays) +
                    "\nwhat the relays logged about the first requests named above:\n" + LoggedAbout(relays, violations));

                // The burst did what it is for: some answers were charged, and (unless a store outage refused most of
                // it) the budgets ran out before its end.
                Assert.True(planned.Any(c => c.Status == 200 && c.Complete), $"seed {seed}, burst {b}: no complete answer");
                Assert.True(outage is not null || planned.Any(IsBudgetRefusal), $"seed {seed}, burst {b}: the budgets never ran out ({summary})");
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            foreach (var relay in relays)
            {
                await relay.DisposeAsync();
            }
        }

        // What the stores hold once every relay has stopped, read by a host of its own.
        await using var reader = FakeRelay.Create(Settings(storage));
        var after = await new LedgerAudit(reader.Ledger(), reader.App.Services.GetRequiredService<IUsageStore>(), Secrets.Keys).ReadAsync();
        var left = LedgerAudit.Violations(after, calls);
        Assert.True(left.Count == 0, $"seed {seed}, after the relays stopped ({Summary(calls, after)}): {left.Count} violations:\n" + string.Join("\n", left.Take(25)));
        Assert.Equal(Bursts * Credit, after.Credited["alice"]);
    }

    /// <summary>The relays' warnings and errors, counted by event, for a failure message: what went wrong on their side.</summary>
    private static string LoggedTrouble(IReadOnlyList<FakeRelay> relays) => string.Join("\n", relays
        .SelectMany(r => r.App.Logs.GetSnapshot())
        .Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning)
        .GroupBy(r => $"{r.Level} {r.Category} {r.Id.Name ?? r.Id.Id.ToString(CultureInfo.InvariantCulture)}")
        .Select(g => $"  {g.Key} ×{g.Count()}: {g.First().Message} {g.First().Exception?.GetType().Name} {g.First().Exception?.Message}"));

    /// <summary>Every log line that names one of the first three request ids in the violations.</summary>
    private static string LoggedAbout(IReadOnlyList<FakeRelay> relays, List<string> violations)
    {
        var ids = violations.SelectMany(v => System.Text.RegularExpressions.Regex.Matches(v, "req_[0-9a-f]{32}").Select(m => m.Value)).Distinct().Take(3).ToList();
        return string.Join("\n", relays.SelectMany((r, i) => r.App.Logs.GetSnapshot().Select(l => (Instance: i, Line: l)))
            .Where(l => ids.Any(id => l.Line.Message.Contains(id, StringComparison.Ordinal)))
            .Select(l => $"  instance {l.Instance} {l.Line.Timestamp:HH:mm:ss.fff} {l.Line.Level} {l.Line.Category}: {l.Line.Message} {l.Line.Exception?.GetType().Name} {l.Line.Exception?.Message}"));
    }

    private static bool IsBudgetRefusal(BurstCall call) =>
        call.Body.Contains("insufficient_quota", StringComparison.Ordinal) || call.Body.Contains("billing_error", StringComparison.Ordinal);

    private static string Summary(IReadOnlyList<BurstCall> calls, LedgerAudit.Snapshot snapshot)
    {
        var statuses = string.Join(" ", calls.GroupBy(c => c.Status?.ToString(CultureInfo.InvariantCulture) ?? "none").OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}×{g.Count()}"));
        var money = string.Join(" ", snapshot.Credited.Keys.Order(StringComparer.Ordinal)
            .Select(k => $"{k}: charged {snapshot.Charged[k].ToString(CultureInfo.InvariantCulture)} of {snapshot.Credited[k].ToString(CultureInfo.InvariantCulture)}"));
        return $"statuses {statuses}; budget refusals {calls.Count(IsBudgetRefusal)}; store 503s {calls.Count(LedgerAudit.IsStoreUnavailable)}; " +
            $"aborted {calls.Count(c => c.Aborted)}; complete {calls.Count(c => c.Complete)}; {money}";
    }

    /// <summary>Takes both SQLite files with <c>BEGIN EXCLUSIVE</c> (waiting its turn behind the relay's writer), holds them, lets go.</summary>
    private static async Task HoldExclusiveAsync(params string[] paths)
    {
        var held = new List<SqliteConnection>();
        try
        {
            foreach (var path in paths)
            {
                var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, DefaultTimeout = 30, Pooling = false }.ToString());
                held.Add(connection);
                await connection.OpenAsync();
                await using var begin = connection.CreateCommand();
                begin.CommandText = "PRAGMA busy_timeout = 30000; BEGIN EXCLUSIVE;";
                await begin.ExecuteNonQueryAsync();
            }

            await Task.Delay(Outage);
        }
        finally
        {
            foreach (var connection in held)
            {
                await using var rollback = connection.CreateCommand();
                rollback.CommandText = "ROLLBACK;";
                await rollback.ExecuteNonQueryAsync();
                await connection.DisposeAsync();
            }
        }
    }
}
