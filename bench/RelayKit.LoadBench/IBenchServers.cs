namespace RelayKit.LoadBench;

/// <summary>
/// The bench's three targets and what serves them: in this process (<see cref="BenchServers"/>) or each in a process
/// of its own (<see cref="ProcessBenchServers"/>).
/// </summary>
internal interface IBenchServers : IAsyncDisposable
{
    /// <summary>The fake upstream, called directly.</summary>
    Target Direct { get; }

    /// <summary>A plain YARP forwarder in front of the fake.</summary>
    Target Yarp { get; }

    /// <summary>The relay in front of the fake, every feature on.</summary>
    Target Relay { get; }

    /// <summary>Where the relay's SQLite ledger and usage store live.</summary>
    string DataDirectory { get; }

    /// <summary>How the servers run, for the run's header.</summary>
    string Description { get; }

    /// <summary>
    /// Makes the fake forget the requests it recorded (it keeps every one for inspection, which would grow its heap
    /// and blur the memory figures); only called while no request is in flight.
    /// </summary>
    ValueTask ForgetFakeRequestsAsync();

    /// <summary>The process whose counters a phase against <paramref name="target"/> reports.</summary>
    ProcessProbe ProbeOf(Target target);

    /// <summary>The relay's telemetry as its listeners saw it (metric measurements and spans).</summary>
    ValueTask<string> TelemetryAsync();
}
