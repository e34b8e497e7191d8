using System.Globalization;
using Microsoft.AspNetCore.Builder;
using RelayKit.Testing;

namespace RelayKit.LoadBench;

/// <summary>
/// The child side of the separate-process mode: <c>serve fake|yarp|relay</c> runs one server, prints
/// <c>listening &lt;url&gt;</c>, then answers the parent's commands on stdin, one line each, until stdin closes:
/// <c>forget</c> (the fake forgets its recorded requests), <c>stats</c> / <c>stats collect</c> (bytes allocated, GC pause
/// ticks, working set and, after a full collection, the managed heap) and <c>telemetry</c> (the relay's listeners).
/// </summary>
internal static class ServeCommand
{
    public static bool IsServe(string[] args) => args.Length > 0 && args[0] == "serve";

    public static async Task<int> RunAsync(string[] args)
    {
        string? upstream = null;
        string? directory = null;
        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 2; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--upstream":
                    upstream = args[++i];
                    break;
                case "--dir":
                    directory = args[++i];
                    break;
                case "--relay-setting":
                    var setting = args[++i];
                    var equals = setting.IndexOf('=', StringComparison.Ordinal);
                    overrides[setting[..equals]] = setting[(equals + 1)..];
                    break;
                default:
                    await Console.Error.WriteLineAsync($"serve: unknown argument {args[i]}");
                    return 2;
            }
        }

        var role = args.Length > 1 ? args[1] : "";
        FakeUpstream? fake = null;
        WebApplication? app = null;
        using var telemetry = role == "relay" ? new TelemetryListeners() : null;
        Uri address;
        switch (role)
        {
            case "fake":
                fake = BenchServers.CreateFake();
                address = await fake.StartAsync();
                BenchServers.ScriptAnswer(fake);
                break;
            case "yarp" when upstream is not null && directory is not null:
                app = BenchServers.BuildYarp(new Uri(upstream), Directory.CreateDirectory(Path.Combine(directory, "yarp-host")).FullName);
                await app.StartAsync();
                address = BenchServers.AddressOf(app);
                break;
            case "relay" when upstream is not null && directory is not null:
                app = BenchServers.BuildRelay(
                    new Uri(upstream),
                    Directory.CreateDirectory(Path.Combine(directory, "data")).FullName,
                    Directory.CreateDirectory(Path.Combine(directory, "relay-host")).FullName,
                    overrides,
                    out _);
                await app.StartAsync();
                address = BenchServers.AddressOf(app);
                break;
            default:
                await Console.Error.WriteLineAsync("serve fake | serve yarp|relay --upstream <url> --dir <folder> [--relay-setting k=v]");
                return 2;
        }

        Console.WriteLine($"listening {address.AbsoluteUri}");
        while (await Console.In.ReadLineAsync() is { } command)
        {
            Console.WriteLine(command switch
            {
                "forget" => Forget(fake),
                "stats" => Stats(collect: false),
                "stats collect" => Stats(collect: true),
                "telemetry" => telemetry?.Summary ?? "no telemetry listened to",
                _ => "unknown command",
            });
        }

        if (app is not null)
        {
            await app.DisposeAsync();
        }

        if (fake is not null)
        {
            await fake.DisposeAsync();
        }

        return 0;
    }

    private static string Forget(FakeUpstream? fake)
    {
        if (fake is not null)
        {
            fake.Reset();
            BenchServers.ScriptAnswer(fake);
        }

        return "ok";
    }

    private static string Stats(bool collect)
    {
        if (collect)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{GC.GetTotalAllocatedBytes(precise: true)} {GC.GetTotalPauseDuration().Ticks} {(collect ? GC.GetTotalMemory(forceFullCollection: false) : 0)}");
    }
}
