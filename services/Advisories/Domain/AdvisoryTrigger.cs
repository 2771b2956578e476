using System.Globalization;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Advisories.Domain;

/// <summary>
/// What an inbound event means for companies: the area, the levels, the texts, and the subject
/// whose version orders events (an older version of the same subject never creates an advisory).
/// </summary>
internal sealed record AdvisoryTrigger
{
    public required AdvisoryCause Cause { get; init; }
    public required string CauseEventId { get; init; }
    public required string SubjectKey { get; init; }
    public required string SubjectId { get; init; }
    public required long SubjectVersion { get; init; }
    public required Area Area { get; init; }
    public ThreatLevel PreviousLevel { get; init; }
    public ThreatLevel NewLevel { get; init; }
    public IReadOnlyList<CategoryRating> Categories { get; init; } = [];
    public IReadOnlyList<ThreatCategory> CategoriesAdded { get; init; } = [];
    public IReadOnlyList<ThreatCategory> CategoriesRemoved { get; init; } = [];
    public required LocalizedText Headline { get; init; }
    public required LocalizedText Description { get; init; }
    public string CrisisId { get; init; } = string.Empty;
    public IReadOnlyList<string> RelatedAlertIds { get; init; } = [];

    /// <summary>Wave this event belongs to (a consular alert caused by a level change links to its wave).</summary>
    public string? LinkedWaveId { get; init; }

    public bool IsCancel { get; init; }

    /// <summary>Highest level involved: the level that decides acknowledgement and subscription thresholds.</summary>
    public ThreatLevel MaxLevel => (ThreatLevel)Math.Max((int)PreviousLevel, (int)NewLevel);

    public static AdvisoryTrigger From(ThreatLevelChanged e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var zone = ZoneName(e.Area);
        var from = e.PreviousLevel == ThreatLevel.Unspecified ? null : (int?)e.PreviousLevel;
        var to = (int)e.NewLevel;
        var change = from is null ? $"{to}" : $"{from} → {to}";
        // "Catégories ajoutées : terrorisme, conflit armé." or nothing when the change adds none.
        static string? Categories(string lead, IReadOnlyCollection<ThreatCategory> categories, bool fr) =>
            categories.Count == 0 ? null : lead + string.Join(", ", categories.Select(c => CategoryLabel(c, fr))) + ".";
        return new AdvisoryTrigger
        {
            Cause = AdvisoryCause.LevelChanged,
            CauseEventId = e.EventId,
            SubjectKey = "assessment:" + e.AssessmentId,
            SubjectId = e.AssessmentId,
            SubjectVersion = e.Version,
            Area = e.Area,
            PreviousLevel = e.PreviousLevel,
            NewLevel = e.NewLevel,
            Categories = [.. e.Categories],
            CategoriesAdded = [.. e.CategoriesAdded],
            CategoriesRemoved = [.. e.CategoriesRemoved],
            Headline = new LocalizedText
            {
                Fr = $"{zone} : niveau {change} ({LevelLabel(e.NewLevel, fr: true)})",
                En = $"{zone}: level {change} ({LevelLabel(e.NewLevel, fr: false)})",
            },
            Description = new LocalizedText
            {
                Fr = Join(e.Summary?.Fr, e.Advice?.Fr, Categories("Catégories ajoutées : ", e.CategoriesAdded, fr: true),
                    Categories("Catégories retirées : ", e.CategoriesRemoved, fr: true), $"Motif : {e.Reason}"),
                En = Join(e.Summary?.En, e.Advice?.En, Categories("Categories added: ", e.CategoriesAdded, fr: false),
                    Categories("Categories removed: ", e.CategoriesRemoved, fr: false), $"Reason: {e.Reason}"),
            },
        };
    }

    public static AdvisoryTrigger From(CrisisDeclared e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new AdvisoryTrigger
        {
            Cause = AdvisoryCause.CrisisDeclared,
            CauseEventId = e.EventId,
            SubjectKey = "crisis:" + e.CrisisId,
            SubjectId = e.CrisisId,
            SubjectVersion = e.Version,
            Area = e.Area,
            PreviousLevel = e.CountryLevel,
            NewLevel = e.CountryLevel,
            CrisisId = e.CrisisId,
            Headline = new LocalizedText { Fr = $"Crise déclarée : {e.Title?.Fr}", En = $"Crisis declared: {e.Title?.En}" },
            Description = new LocalizedText { Fr = e.Description?.Fr ?? string.Empty, En = e.Description?.En ?? string.Empty },
        };
    }

    public static AdvisoryTrigger From(CrisisClosed e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new AdvisoryTrigger
        {
            Cause = AdvisoryCause.CrisisClosed,
            CauseEventId = e.EventId,
            SubjectKey = "crisis:" + e.CrisisId,
            SubjectId = e.CrisisId,
            SubjectVersion = e.Version,
            Area = e.Area,
            CrisisId = e.CrisisId,
            Headline = new LocalizedText { Fr = $"Fin de crise : {e.Title?.Fr}", En = $"Crisis closed: {e.Title?.En}" },
            Description = new LocalizedText { Fr = e.Note?.Fr ?? string.Empty, En = e.Note?.En ?? string.Empty },
        };
    }

    public static AdvisoryTrigger From(ConsularAlertIssued e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var cancel = e.MessageType == AlertMessageType.Cancel;
        return new AdvisoryTrigger
        {
            Cause = AdvisoryCause.ConsularAlert,
            CauseEventId = e.EventId,
            SubjectKey = "alert:" + (string.IsNullOrEmpty(e.ReferencesAlertId) ? e.AlertId : e.ReferencesAlertId),
            SubjectId = e.AlertId,
            SubjectVersion = e.Version,
            Area = e.Area,
            PreviousLevel = e.Level,
            NewLevel = e.Level,
            CrisisId = e.CrisisId,
            RelatedAlertIds = [e.AlertId],
            LinkedWaveId = string.IsNullOrEmpty(e.CauseEventId) ? null : e.CauseEventId,
            IsCancel = cancel,
            Headline = new LocalizedText
            {
                Fr = (cancel ? "Annulation — alerte consulaire : " : "Alerte consulaire : ") + e.Headline?.Fr,
                En = (cancel ? "Cancelled — consular alert: " : "Consular alert: ") + e.Headline?.En,
            },
            Description = new LocalizedText { Fr = e.Body?.Fr ?? string.Empty, En = e.Body?.En ?? string.Empty },
        };
    }

    public static string LevelLabel(ThreatLevel level, bool fr) => level switch
    {
        ThreatLevel.Normal => fr ? "vigilance normale" : "normal vigilance",
        ThreatLevel.Increased => fr ? "vigilance renforcée" : "increased vigilance",
        ThreatLevel.AvoidNonEssential => fr ? "déconseillé sauf raison impérative" : "avoid non-essential travel",
        ThreatLevel.DoNotTravel => fr ? "formellement déconseillé" : "do not travel",
        _ => fr ? "non évalué" : "not assessed",
    };

    public static string ZoneName(Area area)
    {
        ArgumentNullException.ThrowIfNull(area);
        return string.IsNullOrWhiteSpace(area.ZoneName)
            ? area.SubdivisionCodes.Count > 0 ? $"{area.CountryCode} ({string.Join(", ", area.SubdivisionCodes)})" : area.CountryCode
            : $"{area.CountryCode} – {area.ZoneName}";
    }

    /// <summary>A category as it reads in running text, in the dashboard's wording: the enum's names are
    /// neither French nor words ("ArmedConflict").</summary>
    public static string CategoryLabel(ThreatCategory category, bool fr) => category switch
    {
        ThreatCategory.Terrorism => fr ? "terrorisme" : "terrorism",
        ThreatCategory.ArmedConflict => fr ? "conflit armé" : "armed conflict",
        ThreatCategory.CivilUnrest => fr ? "troubles civils" : "civil unrest",
        ThreatCategory.CrimeAndKidnapping => fr ? "criminalité et enlèvements" : "crime and kidnapping",
        ThreatCategory.DrugTrafficking => fr ? "trafic de stupéfiants" : "drug trafficking",
        ThreatCategory.ArmsTrafficking => fr ? "trafic d’armes" : "arms trafficking",
        ThreatCategory.Cybercrime => fr ? "cybercriminalité" : "cybercrime",
        ThreatCategory.OrganisedCrime => fr ? "criminalité organisée" : "organised crime",
        ThreatCategory.IrregularMigration => fr ? "immigration irrégulière" : "irregular migration",
        ThreatCategory.NaturalHazards => fr ? "risques naturels" : "natural hazards",
        ThreatCategory.Health => fr ? "santé" : "health",
        _ => ((int)category).ToString(CultureInfo.InvariantCulture),
    };

    private static string Join(params string?[] parts) =>
        string.Join(" ", parts.Where(p => !string.IsNullOrWhiteSpace(p)));

    public static Timestamp Now(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return Timestamp.FromDateTimeOffset(time.GetUtcNow());
    }
}
