using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace RelayKit.AspNetCore.Usage;

/// <summary>
/// The bounded queue between the request path and the background store writer. Writing never
/// waits unless <see cref="UsageQueueFullMode.Wait"/> is chosen; records it drops are counted for
/// the writer to report.
/// </summary>
internal sealed class UsageQueue
{
    private readonly Channel<UsageRecord> _channel;
    private readonly UsageQueueFullMode _fullMode;
    private long _dropped;

    public UsageQueue(IOptions<UsageOptions> options)
    {
        var settings = options.Value;
        _fullMode = settings.WhenQueueFull;
        _channel = Channel.CreateBounded<UsageRecord>(
            new BoundedChannelOptions(settings.QueueCapacity)
            {
                FullMode = settings.WhenQueueFull switch
                {
                    UsageQueueFullMode.DropOldest => BoundedChannelFullMode.DropOldest,
                    UsageQueueFullMode.Wait => BoundedChannelFullMode.Wait,
                    _ => BoundedChannelFullMode.DropWrite,
                },
                SingleReader = true,
                SingleWriter = false,
            },
            _ => Interlocked.Increment(ref _dropped));
    }

    public UsageQueueFullMode FullMode => _fullMode;

    public ChannelReader<UsageRecord> Reader => _channel.Reader;

    /// <summary>Queues a record for the store. Completes at once unless the mode is <see cref="UsageQueueFullMode.Wait"/> and the queue is full.</summary>
    public ValueTask EnqueueAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        if (_channel.Writer.TryWrite(record))
        {
            return ValueTask.CompletedTask;
        }

        if (_fullMode != UsageQueueFullMode.Wait)
        {
            // In the drop modes TryWrite fails only once the queue is closed (after shutdown): the record is lost.
            Interlocked.Increment(ref _dropped);
            return ValueTask.CompletedTask;
        }

        return WaitAndWriteAsync(record, cancellationToken);
    }

    /// <summary>How many records were dropped since the last call, and resets the count.</summary>
    public long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

    /// <summary>Closes the queue: records already in it are still read; later records are dropped.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    private async ValueTask WaitAndWriteAsync(UsageRecord record, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(record, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            Interlocked.Increment(ref _dropped);
        }
    }
}
