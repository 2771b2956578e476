using System.Net;
using System.Net.Sockets;

namespace Dcis.Crisis.Testing;

/// <summary>Free loopback TCP ports for servers started by tests (never fixed ports: CI runs suites side by side).</summary>
public static class FreePort
{
    // Below the kernel's ephemeral range (32768-60999 here, the Linux default): a port the kernel
    // hands out for "port 0" comes from that range, and so does the local port of every outgoing
    // connection (HTTP clients, Redis, sidecars), so one of those could take it between our check and
    // the server's bind (seen once in CI: a consular test host failed with "address already in use").
    // Ports of this range are only ever taken by a bind, and the ones given out here are never given twice.
    // The launcher picks its sidecars' ports from 32000-32767, just above this range.
    private const int First = 20_000;
    private const int Last = 32_000;
    private static readonly HashSet<int> Given = [];

    /// <summary>A port that was free a moment ago and that this process has not handed out before.</summary>
    public static int Next()
    {
        lock (Given)
        {
            for (var attempt = 0; attempt < 1_000; attempt++)
            {
                var port = Random.Shared.Next(First, Last);
                if (!Given.Contains(port) && IsFree(port))
                {
                    Given.Add(port);
                    return port;
                }
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
