using System.Runtime.CompilerServices;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf;

namespace Dcis.Crisis.ThreatLevels.Domain;

/// <summary>
/// The wire bytes of the assessments held by snapshots, encoded once when the entry is built. Snapshot
/// messages are immutable (never mutated once published), so read responses that carry them can copy
/// these bytes instead of serialising the same messages again on every call. Keyed by instance
/// (weakly: entries dropped from every snapshot free their bytes).
/// </summary>
public static class EncodedAssessments
{
    private static readonly ConditionalWeakTable<Assessment, byte[]> Bytes = [];

    /// <summary>Encodes the assessment now; it must not be mutated afterwards.</summary>
    public static void Register(Assessment assessment)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        Bytes.AddOrUpdate(assessment, assessment.ToByteArray());
    }

    /// <summary>The bytes of a registered instance; null for any other (serialise it normally).</summary>
    public static byte[]? Find(Assessment assessment) =>
        assessment is not null && Bytes.TryGetValue(assessment, out var bytes) ? bytes : null;
}
