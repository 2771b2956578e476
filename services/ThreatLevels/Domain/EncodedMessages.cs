using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Dcis.Crisis.ThreatLevels.Domain;

/// <summary>
/// The wire bytes of immutable messages, encoded once: the assessments held by snapshots and the list
/// responses a snapshot caches. Those messages are never mutated once registered, so read responses
/// that carry them copy these bytes instead of serialising the same messages again on every call.
/// Keyed by instance, weakly (messages dropped with their snapshot free their bytes).
/// </summary>
public static class EncodedMessages
{
    private static readonly ConditionalWeakTable<IMessage, byte[]> Bytes = [];

    /// <summary>Encodes the message now; it must not be mutated afterwards.</summary>
    public static void Register(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Bytes.AddOrUpdate(message, message.ToByteArray());
    }

    /// <summary>The bytes of a registered instance; null for any other (serialise it normally).</summary>
    public static byte[]? Find(IMessage message) =>
        message is not null && Bytes.TryGetValue(message, out var bytes) ? bytes : null;
}
