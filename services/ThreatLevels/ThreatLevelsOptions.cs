namespace Dcis.Crisis.ThreatLevels;

/// <summary>Tuning of threat-levels, from configuration section <c>ThreatLevels</c>.</summary>
public sealed record ThreatLevelsOptions
{
    /// <summary>Heartbeat on a quiet live stream (<c>ThreatLevels:HeartbeatSeconds</c>, default 15).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Concurrent live streams per caller (<c>ThreatLevels:MaxStreamsPerCaller</c>, default 5).</summary>
    public int MaxStreamsPerCaller { get; init; } = 5;

    /// <summary>Reads the options.</summary>
    public static ThreatLevelsOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new ThreatLevelsOptions
        {
            HeartbeatInterval = TimeSpan.FromSeconds(configuration.GetValue("ThreatLevels:HeartbeatSeconds", 15.0)),
            MaxStreamsPerCaller = configuration.GetValue("ThreatLevels:MaxStreamsPerCaller", 5),
        };
    }
}
