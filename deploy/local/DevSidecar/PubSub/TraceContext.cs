using System.Diagnostics;

namespace Dcis.Crisis.DevSidecar.PubSub;

/// <summary>W3C trace context: the sidecar starts a span for each publish and each delivery.</summary>
public static class TraceContext
{
    /// <summary>A child of <paramref name="parent"/> (same trace id, new span id), or a new trace.</summary>
    public static string ChildOf(string? parent)
    {
        // W3C ids need randomness, not secrecy: the runtime's fast generator, as Activity uses.
        var spanId = ActivitySpanId.CreateRandom().ToHexString();
        var parts = parent?.Split('-');
        if (parts is { Length: 4 } && parts[1].Length == 32 && parts[3].Length == 2)
        {
            return $"00-{parts[1]}-{spanId}-{parts[3]}";
        }

        return $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{spanId}-01";
    }
}
