using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RelayKit.LoadBench;

/// <summary>
/// Listens to the relay's meter and activity source the way an OpenTelemetry exporter would, so that
/// metrics and spans cost what they cost in production (instruments nobody listens to are nearly free).
/// </summary>
internal sealed class TelemetryListeners : IDisposable
{
    private const string RelayKitSource = "RelayKit";
    private readonly MeterListener _meters = new();
    private readonly ActivityListener _activities;
    private long _measurements;
    private long _spans;

    public TelemetryListeners()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RelayKitSource)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.SetMeasurementEventCallback<decimal>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.SetMeasurementEventCallback<int>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _meters.Start();

        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RelayKitSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ => Interlocked.Increment(ref _spans),
        };
        ActivitySource.AddActivityListener(_activities);
    }

    /// <summary>Measurements the relay recorded so far (zero means its metrics are not wired in yet).</summary>
    public long Measurements => Interlocked.Read(ref _measurements);

    /// <summary>Spans the relay ended so far.</summary>
    public long Spans => Interlocked.Read(ref _spans);

    /// <summary>What the listeners saw, for the run's last lines.</summary>
    public string Summary => $"{Measurements} metric measurements, {Spans} spans";

    public void Dispose()
    {
        _meters.Dispose();
        _activities.Dispose();
    }
}
