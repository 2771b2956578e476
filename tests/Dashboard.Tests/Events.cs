using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Dashboard.Tests;

/// <summary>Builders of the events the other services publish, as they publish them.</summary>
internal static class Events
{
    private static long _sequence = 1000;

    public static ThreatLevelChanged Level(string country, ThreatLevel level, long? sequence = null, string reason = "test change") => new()
    {
        EventId = Guid.NewGuid().ToString(),
        AssessmentId = country,
        Version = 1,
        Sequence = sequence ?? Interlocked.Increment(ref _sequence),
        Area = new Area { CountryCode = country },
        PreviousLevel = ThreatLevel.Unspecified,
        NewLevel = level,
        CountryLevel = level,
        Categories = { new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.High } },
        Summary = new LocalizedText { Fr = "Menace terroriste élevée.", En = "High terrorist threat." },
        Advice = new LocalizedText { Fr = "Évitez les rassemblements.", En = "Avoid gatherings." },
        Reason = reason,
        Author = "analyst-1",
        ApprovalMode = ApprovalMode.NotRequired,
        ChangeId = "chg-" + Guid.NewGuid().ToString("N"),
        ChangedAt = Timestamp.FromDateTime(DateTime.UtcNow),
        ReviewBy = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(10)),
    };

    public static ConsularAlertIssued Alert(string alertId, string country, long targeted, string post = "post-bamako") => new()
    {
        EventId = Guid.NewGuid().ToString(),
        AlertId = alertId,
        Version = 1,
        MessageType = AlertMessageType.Alert,
        PostId = post,
        Area = new Area { CountryCode = country },
        Level = ThreatLevel.DoNotTravel,
        Headline = new LocalizedText { Fr = "Quittez le pays", En = "Leave the country" },
        Body = new LocalizedText { Fr = "Corps", En = "Body" },
        IssuedAt = Timestamp.FromDateTime(DateTime.UtcNow),
        RecipientsTargeted = targeted,
        Priority = Priority.Urgent,
    };

    public static NotificationStatusChanged Statuses(string alertId, DeliveryStatus status, params string[] recipients)
    {
        var e = new NotificationStatusChanged { EventId = Guid.NewGuid().ToString(), Source = "consular" };
        foreach (var r in recipients)
        {
            e.Updates.Add(new DeliveryStatusUpdate
            {
                SourceAlertId = alertId, AlertVersion = 1, RecipientId = r, Channel = Channel.Sms, Status = status,
                At = Timestamp.FromDateTime(DateTime.UtcNow),
            });
        }

        return e;
    }

    public static WellbeingUpdated Wellbeing(string checkId, string post, string country, long version, long targeted, long safe, long needHelp,
        string? escalation = null) => new()
    {
        EventId = Guid.NewGuid().ToString(),
        CheckId = checkId,
        CrisisId = "crisis-" + checkId,
        PostId = post,
        Version = version,
        Targeted = targeted,
        Safe = safe,
        NeedHelp = needHelp,
        NoAnswer = targeted - safe - needHelp,
        EscalationReference = escalation ?? string.Empty,
        UpdatedAt = Timestamp.FromDateTime(DateTime.UtcNow),
        CountryCode = country,
    };

    public static CrisisDeclared Crisis(string crisisId, string country, double lat, double lng) => new()
    {
        EventId = Guid.NewGuid().ToString(),
        CrisisId = crisisId,
        Version = 1,
        Kind = CrisisKind.Unrest,
        Area = new Area { CountryCode = country, Circle = new Circle { Center = new LatLng { Latitude = lat, Longitude = lng }, RadiusMeters = 50_000 } },
        Title = new LocalizedText { Fr = "Troubles à " + country, En = "Unrest in " + country },
        StartTime = Timestamp.FromDateTime(DateTime.UtcNow),
        DeclaredBy = "analyst-1",
        ApprovalMode = ApprovalMode.Emergency,
        DeclaredAt = Timestamp.FromDateTime(DateTime.UtcNow),
        StartWellbeingCheck = true,
    };

    public static AdvisoryIssued Advisory(string advisoryId, string waveId, string country, int sites, int travellers) => new()
    {
        EventId = Guid.NewGuid().ToString(),
        AdvisoryId = advisoryId,
        CompanyId = "company-" + advisoryId,
        WaveId = waveId,
        CauseEventId = waveId,
        Area = new Area { CountryCode = country },
        PreviousLevel = ThreatLevel.AvoidNonEssential,
        NewLevel = ThreatLevel.DoNotTravel,
        AffectedSites = sites,
        AffectedTravellers = travellers,
        AcknowledgementRequired = true,
        IssuedAt = Timestamp.FromDateTime(DateTime.UtcNow),
    };
}
