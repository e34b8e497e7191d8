using System.IO.Pipelines;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>The relay's response body stream: the first write starts the response, every write goes into the pipe.</summary>
internal sealed class InProcessResponseBodyStream(InProcessResponseFeature feature, PipeWriter pipe) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await feature.StartAsync(cancellationToken);
        var result = await pipe.FlushAsync(cancellationToken);
        if (result.IsCompleted)
        {
            feature.ReaderGone();
            throw new OperationCanceledException("The app's client stopped reading the response.");
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await feature.StartAsync(cancellationToken);
        await pipe.WriteAsync(buffer, cancellationToken);
        await FlushAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
