using System.Net;
using System.Net.Sockets;

namespace Dcis.Crisis.Local;

/// <summary>
/// Free loopback TCP ports from a fixed range below the kernel's ephemeral range (32768-60999 by
/// default). A port the kernel hands out for "port 0" comes from the ephemeral range, as does the local
/// port of every outgoing connection, so one of those can take it between the check and the server's
/// bind (seen in CI, twice). Ports below that range are only taken by binds, and a range never hands
/// out the same port twice. Compiled into the launcher and into the test fixtures (each with its own range).
/// </summary>
internal sealed class LoopbackPorts(int first, int lastExclusive)
{
    private readonly HashSet<int> _given = [];

    /// <summary>A port of the range that was free a moment ago and was not handed out before.</summary>
    public int Next()
    {
        lock (_given)
        {
            for (var attempt = 0; attempt < 1_000; attempt++)
            {
                var port = Random.Shared.Next(first, lastExclusive);
                if (_given.Add(port) && IsFree(port))
                {
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
