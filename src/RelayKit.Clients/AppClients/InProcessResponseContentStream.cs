namespace RelayKit.AspNetCore.AppClients;

/// <summary>The app's client's view of the relay's response body; disposing it early tells the relay the caller went away.</summary>
internal sealed class InProcessResponseContentStream(InProcessResponseFeature feature) : Stream
{
    private readonly Stream _reader = feature.Reader.AsStream(leaveOpen: true);
    private bool _ended;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _reader.ReadAsync(buffer, cancellationToken);
        _ended |= read == 0 && buffer.Length > 0;
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_ended)
            {
                feature.ReaderGone();
            }

            feature.Reader.Complete();
            _reader.Dispose();
        }

        base.Dispose(disposing);
    }
}
