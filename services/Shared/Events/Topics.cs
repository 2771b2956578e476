namespace Dcis.Crisis.Shared.Events;

/// <summary>
/// Every topic name on the wire, in one place. Literal and stable: renaming a C# type must never
/// rename a topic (a rename would silently cut producers from consumers).
/// </summary>
public static class Topics
{
    /// <summary>The pub/sub component every service uses (deploy/components).</summary>
    public const string PubSub = "crisis-pubsub";

    /// <summary>threat-levels → consular, advisories, dashboard.</summary>
    public const string ThreatLevelChanged = "threat-level-changed";

    /// <summary>threat-levels → consular, advisories, dashboard.</summary>
    public const string CrisisDeclared = "crisis-declared";

    /// <summary>threat-levels → consular, advisories, dashboard.</summary>
    public const string CrisisClosed = "crisis-closed";

    /// <summary>consular → advisories, dashboard.</summary>
    public const string ConsularAlertIssued = "consular-alert-issued";

    /// <summary>consular, advisories → notifications.</summary>
    public const string NotificationRequested = "notification-requested";

    /// <summary>consular → dashboard.</summary>
    public const string WellbeingUpdated = "wellbeing-updated";

    /// <summary>advisories → dashboard.</summary>
    public const string AdvisoryIssued = "advisory-issued";

    /// <summary>advisories → dashboard.</summary>
    public const string AdvisoryAcknowledged = "advisory-acknowledged";

    /// <summary>notifications → consular, advisories, dashboard.</summary>
    public const string NotificationStatusChanged = "notification-status-changed";

    /// <summary>Every business topic (the dashboard subscribes to all of them and their dead letters).</summary>
    public static readonly IReadOnlyList<string> All =
    [
        ThreatLevelChanged, CrisisDeclared, CrisisClosed, ConsularAlertIssued, NotificationRequested,
        WellbeingUpdated, AdvisoryIssued, AdvisoryAcknowledged, NotificationStatusChanged,
    ];

    /// <summary>The dead-letter topic of a topic: where the sidecar puts what a subscriber could not process.</summary>
    public static string DeadLetter(string topic) => topic + "-dead";
}
