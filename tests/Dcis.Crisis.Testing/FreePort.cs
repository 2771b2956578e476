using System.Net;
using System.Net.Sockets;

namespace Dcis.Crisis.Testing;

/// <summary>Free loopback TCP ports for servers started by tests (never fixed ports: CI runs suites side by side).</summary>
public static class FreePort
{
    /// <summary>A port that was free a moment ago.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
