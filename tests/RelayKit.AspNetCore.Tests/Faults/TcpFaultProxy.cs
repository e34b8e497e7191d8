using System.Net;
using System.Net.Sockets;

namespace RelayKit.AspNetCore.Tests.Faults;

/// <summary>
/// A TCP proxy on loopback in front of a real server (PostgreSQL, Redis), so a test can take the server away and give it
/// back while the relay runs: <see cref="CutAsync"/> resets every connection and resets new ones as they come (the
/// client sees the server gone, as when it restarts), <see cref="Resume"/> lets connections through again.
/// </summary>
internal sealed class TcpFaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly DnsEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly HashSet<Socket> _open = [];
    private readonly Task _accepting;
    private bool _refusing;

    public TcpFaultProxy(string host, int port)
    {
        _target = new DnsEndPoint(host, port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port clients connect to instead of the server's.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many times a connection was cut or refused (so a test can tell that its outage was felt).</summary>
    public int Cuts { get; private set; }

    /// <summary>Resets every open connection and every new one until <see cref="Resume"/>.</summary>
    public void Cut()
    {
        List<Socket> open;
        lock (_gate)
        {
            _refusing = true;
            open = [.. _open];
            _open.Clear();
            Cuts += open.Count;
        }

        foreach (var socket in open)
        {
            Reset(socket);
        }
    }

    /// <summary>Cuts, waits <paramref name="outage"/>, resumes.</summary>
    public async Task CutAsync(TimeSpan outage)
    {
        Cut();
        await Task.Delay(outage);
        Resume();
    }

    /// <summary>Lets new connections through to the server again.</summary>
    public void Resume()
    {
        lock (_gate)
        {
            _refusing = false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ConnectAsync(client));
        }
    }

    private async Task ConnectAsync(Socket client)
    {
        var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (Refusing())
            {
                Reset(client);
                server.Dispose();
                return;
            }

            await server.ConnectAsync(_target, _stopping.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            Reset(client);
            server.Dispose();
            return;
        }

        lock (_gate)
        {
            if (_refusing)
            {
                Cuts++;
                Reset(client);
                Reset(server);
                return;
            }

            _open.Add(client);
            _open.Add(server);
        }

        // Either direction ending (a cut, either side closing) ends both.
        await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
        lock (_gate)
        {
            _open.Remove(client);
            _open.Remove(server);
        }

        Reset(client);
        Reset(server);
    }

    private bool Refusing()
    {
        lock (_gate)
        {
            if (_refusing)
            {
                Cuts++;
            }

            return _refusing;
        }
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes with a TCP reset (linger 0), as a server that went away does, not a polite FIN.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }
}
