using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace RelayKit.AspNetCore.Tests.Admission.RateLimits;

/// <summary>
/// A TCP proxy in front of the shared test Redis that a test can cut (every connection closed, new ones closed at
/// once, as a Redis that went away) and restore, without stopping the Redis other tests use and without losing its data.
/// </summary>
internal sealed class CuttableTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<TcpClient, byte> _open = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    public CuttableTcpProxy(string redisConfiguration)
    {
        var endpoint = redisConfiguration.Split(',')[0].Trim();
        var colon = endpoint.LastIndexOf(':');
        _targetHost = colon < 0 ? endpoint : endpoint[..colon];
        _targetPort = colon < 0 ? 6379 : int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The Redis configuration string that goes through this proxy.</summary>
    public string Configuration => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Drops every connection and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var client in _open.Keys)
        {
            Close(client);
        }
    }

    public void Restore() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Stop();
        Cut();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            if (_cut)
            {
                client.Dispose();
                continue;
            }

            _ = PipeAsync(client);
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        _open[client] = 0;
        _open[upstream] = 0;
        try
        {
            await upstream.ConnectAsync(_targetHost, _targetPort, _stopping.Token);
            await Task.WhenAny(
                client.GetStream().CopyToAsync(upstream.GetStream(), _stopping.Token),
                upstream.GetStream().CopyToAsync(client.GetStream(), _stopping.Token));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            Close(client);
            Close(upstream);
        }
    }

    private void Close(TcpClient client)
    {
        _open.TryRemove(client, out _);
        client.Dispose();
    }
}
