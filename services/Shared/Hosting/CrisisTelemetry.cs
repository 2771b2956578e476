using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Dcis.Crisis.Shared;

/// <summary>The activity source and meter of Dcis.Crisis code (services add their instruments to the meter).</summary>
public static class CrisisTelemetry
{
    /// <summary>Name of both the activity source and the meter.</summary>
    public const string Name = "Dcis.Crisis";

    /// <summary>Spans for publishing, relaying and handling events.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>Metrics: alerts issued, recipients targeted, deliveries, outbox lag, dead letters...</summary>
    public static readonly Meter Meter = new(Name);
}
