using Dcis.Crisis.Local;

namespace Dcis.Crisis.Testing;

/// <summary>Free loopback TCP ports for servers started by tests (never fixed ports: CI runs suites side by side).</summary>
public static class FreePort
{
    // 20000-31999: below the ephemeral range (see LoopbackPorts); the launcher uses 32000-32767.
    private static readonly LoopbackPorts Ports = new(20_000, 32_000);

    /// <summary>A port that was free a moment ago and that this process has not handed out before.</summary>
    public static int Next() => Ports.Next();
}
