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
        // "version-traceid-parentid-flags": exactly four '-'-separated parts, a 32-char trace id and
        // 2-char flags keep the trace id and flags (read without splitting into strings).
        var text = parent.AsSpan();
        var first = text.IndexOf('-');
        if (first >= 0)
        {
            var rest = text[(first + 1)..];
            var second = rest.IndexOf('-');
            if (second == 32)
            {
                var afterTrace = rest[(second + 1)..];
                var third = afterTrace.IndexOf('-');
                if (third >= 0)
                {
                    var flags = afterTrace[(third + 1)..];
                    if (flags.Length == 2 && !flags.Contains('-'))
                    {
                        return $"00-{rest[..32]}-{spanId}-{flags}";
                    }
                }
            }
        }

        return $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{spanId}-01";
    }
}
