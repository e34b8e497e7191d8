using System.Globalization;

namespace RelayKit.LoadBench;

/// <summary>How long and how hard the bench drives each target; parsed from the command line.</summary>
internal sealed class LoadBenchOptions
{
    /// <summary>Closed-loop time per target and body kind before anything is measured (discarded).</summary>
    /// <remarks>
    /// Long enough for tiered compilation to finish: with dynamic PGO the relay's throughput rose for ~15 s of load
    /// (YARP's levelled off within ~3 s), and with <c>DOTNET_TieredCompilation=0</c> it was flat from the start, so a
    /// shorter warm-up measured the relay half-compiled (bench/README.md).
    /// </remarks>
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(15);

    /// <summary>Length of each saturation phase (closed loop).</summary>
    public TimeSpan SaturationDuration { get; private set; } = TimeSpan.FromSeconds(9);

    /// <summary>Length of each fixed-rate phase (open loop).</summary>
    public TimeSpan FixedDuration { get; private set; } = TimeSpan.FromSeconds(12);

    /// <summary>Requests per second of the fixed-rate phases; unset: 30% of the slowest target's saturation throughput.</summary>
    public double? Rate { get; private set; }

    /// <summary>Concurrent clients of the closed loop (wrk's connections): 16 in one process, 32 with <see cref="Processes"/>.</summary>
    public int Concurrency => _concurrency ?? (Processes ? 32 : 16);

    private int? _concurrency;

    /// <summary>
    /// The fake, YARP and the relay each in a process of its own, the load from this one (and from wrk at saturation
    /// unless <see cref="NoWrk"/>): the way users deploy.
    /// </summary>
    public bool Processes { get; private set; }

    /// <summary>With <see cref="Processes"/>: saturation from this process's .NET client even where wrk is installed.</summary>
    public bool NoWrk { get; private set; }

    /// <summary>Upper bound of requests per phase, whatever the duration.</summary>
    public int MaxRequestsPerPhase { get; private set; } = 200_000;

    /// <summary>
    /// Relay requests of the memory soak after the phases (0: no soak): by default the 100,000, so that the one
    /// command checks every target; none with <c>--quick</c> unless asked for.
    /// </summary>
    public int Soak => _soak ?? (Quick ? 0 : DefaultSoak);

    private const int DefaultSoak = 100_000;
    private int? _soak;

    /// <summary>Each phase is cut into this many rounds in which the targets take turns.</summary>
    public int Rounds { get; private set; } = 3;

    public bool Quick { get; private set; }

    /// <summary>Relay settings that replace the bench's own (<c>--relay-setting name=value</c>), to see what a feature costs.</summary>
    public Dictionary<string, string?> RelaySettings { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static LoadBenchOptions Parse(string[] args)
    {
        var options = new LoadBenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--quick":
                    options.Quick = true;
                    options.Warmup = TimeSpan.FromSeconds(5);
                    options.SaturationDuration = TimeSpan.FromSeconds(3);
                    options.FixedDuration = TimeSpan.FromSeconds(4);
                    options.Rounds = 2;
                    break;
                case "--duration":
                    var seconds = double.Parse(Next(), CultureInfo.InvariantCulture);
                    options.SaturationDuration = TimeSpan.FromSeconds(seconds);
                    options.FixedDuration = TimeSpan.FromSeconds(seconds);
                    break;
                case "--warmup":
                    options.Warmup = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
                    break;
                case "--rounds":
                    options.Rounds = Math.Max(1, int.Parse(Next(), CultureInfo.InvariantCulture));
                    break;
                case "--rate":
                    options.Rate = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--concurrency":
                    options._concurrency = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--max-requests":
                    options.MaxRequestsPerPhase = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--processes":
                    options.Processes = true;
                    break;
                case "--no-wrk":
                    options.NoWrk = true;
                    break;
                case "--soak":
                    options._soak = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--relay-setting":
                    var setting = Next();
                    var equals = setting.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        throw new ArgumentException($"--relay-setting takes name=value, not {setting}.");
                    }

                    options.RelaySettings[setting[..equals]] = setting[(equals + 1)..];
                    break;
                case "-h" or "--help":
                    throw new ArgumentException(Usage);
                default:
                    throw new ArgumentException($"Unknown option {args[i]}.\n{Usage}");
            }
        }

        return options;
    }

    public const string Usage = """
        dotnet run -c Release --project bench/RelayKit.LoadBench -- [options]
          --processes          fake, YARP and relay each in a process of its own, load from this one and, at
                               saturation, from wrk where installed; CPU and memory are the target's process alone
          --no-wrk             with --processes: saturation from this process's .NET client instead of wrk
          --quick              short phases and no soak (about 75 s in all) for a first look
          --duration <s>       seconds per fixed-rate and per saturation phase (default 12 and 9)
          --warmup <s>         seconds of discarded closed-loop load per target and body kind first (default 15)
          --rate <rps>         fixed request rate (default: 30% of the slowest target's saturation throughput)
          --rounds <n>         cut each phase into n rounds in which the targets take turns (default 3)
          --concurrency <n>    clients (wrk connections) in the saturation closed loop (default 16; 32 with --processes)
          --max-requests <n>   at most this many requests per phase (default 200000)
          --soak <n>           afterwards, send n relay requests and show the heap every n/10 (memory flat?;
                               default 100000, 0 to skip; none with --quick unless given)
          --relay-setting k=v  replace one of the relay's settings, e.g. ModelRelay:Budgets:Store=InMemory
                               (repeatable; the run then no longer measures every feature as configured)
        """;
}
