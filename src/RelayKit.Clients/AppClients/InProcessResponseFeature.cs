using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace RelayKit.AspNetCore.AppClients;

/// <summary>
/// The response side of a synthetic <see cref="HttpContext"/>: the relay writes into a pipe that the
/// app's client reads as it is written, so streams stay streams with no socket in between.
/// </summary>
/// <remarks>
/// Hand-written rather than TestServer's, which belongs to a test package and can only host a whole app
/// of its own, while the app's clients must reach the relay inside the app that is already running.
/// </remarks>
internal sealed class InProcessResponseFeature : IHttpResponseFeature, IHttpResponseBodyFeature
{
    private readonly Pipe _pipe = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(Func<object, Task> Callback, object State)> _onStarting = [];
    private readonly CancellationTokenSource _readerGone;
    private readonly InProcessResponseBodyStream _body;
    private int _completed;

    public InProcessResponseFeature(CancellationTokenSource readerGone)
    {
        _readerGone = readerGone;
        _body = new InProcessResponseBodyStream(this, _pipe.Writer);
        Writer = PipeWriter.Create(_body, new StreamPipeWriterOptions(leaveOpen: true));
    }

    /// <summary>Completes when the status and headers are final (the first write, or the relay's StartAsync).</summary>
    public Task Started => _started.Task;

    /// <summary>What the app's client reads.</summary>
    public PipeReader Reader => _pipe.Reader;

    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    public string? ReasonPhrase { get; set; }

    public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();

    public Stream Body
    {
        get => _body;
        set => throw new NotSupportedException("The in-process relay response body cannot be replaced.");
    }

    public bool HasStarted => _started.Task.IsCompleted;

    public Stream Stream => _body;

    public PipeWriter Writer { get; }

    public void OnStarting(Func<object, Task> callback, object state) => _onStarting.Add((callback, state));

    public void OnCompleted(Func<object, Task> callback, object state)
    {
        // Nothing waits for the end of an in-process exchange; the relay settles before HandleAsync returns.
    }

    public void DisableBuffering()
    {
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (HasStarted)
        {
            return;
        }

        for (var i = _onStarting.Count - 1; i >= 0; i--)
        {
            await _onStarting[i].Callback(_onStarting[i].State);
        }

        _started.TrySetResult();
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The relay sends no files.");

    public async Task CompleteAsync()
    {
        // The relay completes the response itself before it settles; the handler's own call after it is then a no-op.
        if (Interlocked.Exchange(ref _completed, 1) == 1)
        {
            return;
        }

        await StartAsync();
        await Writer.FlushAsync();
        await _pipe.Writer.CompleteAsync();
    }

    /// <summary>Ends the body with a failure the app's client sees as a broken response.</summary>
    public async Task FailAsync(Exception exception)
    {
        _started.TrySetResult();
        await _pipe.Writer.CompleteAsync(exception);
    }

    /// <summary>The app's client stopped reading: the relay sees it as the caller going away.</summary>
    public void ReaderGone()
    {
        try
        {
            _readerGone.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The exchange had already ended: nobody is left to tell.
        }
    }
}
