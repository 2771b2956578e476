using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;

namespace Dcis.Crisis.Consular.Domain;

/// <summary>One version of a consular alert, as stored. No personal data.</summary>
internal sealed record AlertRecord(
    string AlertId,
    long Version,
    AlertMessageType MessageType,
    string PostId,
    Area Area,
    ThreatLevel Level,
    LocalizedText Headline,
    LocalizedText Body,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    Priority Priority,
    AlertState State,
    string? CauseEventId,
    string? CrisisId,
    string IssuedBy,
    IReadOnlyList<ThreatCategory> Categories,
    int ArrivingWithinDays,
    long Targeted);

/// <summary>Texts of alerts the service writes itself (level changes, crises, wellbeing questions).</summary>
internal static class AlertTexts
{
    public static string AreaName(Area area) =>
        !string.IsNullOrWhiteSpace(area.ZoneName) ? $"{area.ZoneName} ({area.CountryCode})"
        : area.SubdivisionCodes.Count > 0 ? string.Join(", ", area.SubdivisionCodes)
        : area.CountryCode;

    public static (string Fr, string En) Label(ThreatLevel level) => level switch
    {
        ThreatLevel.Normal => ("Vigilance normale", "Normal vigilance"),
        ThreatLevel.Increased => ("Vigilance renforcée", "Increased vigilance"),
        ThreatLevel.AvoidNonEssential => ("Déconseillé sauf raison impérative", "Avoid non-essential travel"),
        ThreatLevel.DoNotTravel => ("Formellement déconseillé", "Do not travel"),
        _ => ("Niveau inconnu", "Unknown level"),
    };

    public static (LocalizedText Headline, LocalizedText Body) ForLevelChange(ThreatLevelChanged e)
    {
        var area = AreaName(e.Area);
        var (fr, en) = Label(e.NewLevel);
        var headline = new LocalizedText { Fr = $"{area} : {fr}", En = $"{area}: {en}" };
        var body = new LocalizedText
        {
            Fr = Join(e.Summary?.Fr, e.Advice?.Fr),
            En = Join(e.Summary?.En, e.Advice?.En),
        };
        return (headline, body);
    }

    public static (LocalizedText Headline, LocalizedText Body) ForCrisis(CrisisDeclared e) =>
        (e.Title?.Clone() ?? new LocalizedText(), e.Description?.Clone() ?? new LocalizedText());

    public static LocalizedText WellbeingQuestion(Area area, bool reminder) => new()
    {
        Fr = (reminder ? "Rappel : " : string.Empty) + $"Êtes-vous en sécurité ({AreaName(area)}) ? Répondez dans l'application, ou par SMS avec votre code suivi de OK (en sécurité) ou AIDE (besoin d'aide).",
        En = (reminder ? "Reminder: " : string.Empty) + $"Are you safe ({AreaName(area)})? Answer in the app, or by SMS with your code followed by OK (safe) or HELP (need help).",
    };

    /// <summary>The message in both languages; a missing language falls back to the other, so each person reads their own.</summary>
    public static List<LocalizedMessage> Messages(LocalizedText headline, LocalizedText body)
    {
        static string Pick(string? wanted, string? other) => string.IsNullOrWhiteSpace(wanted) ? other ?? string.Empty : wanted;
        return
        [
            new LocalizedMessage { Language = Language.Fr, Subject = Trim(Pick(headline.Fr, headline.En), 200), Body = Trim(Pick(body.Fr, body.En), 4000) },
            new LocalizedMessage { Language = Language.En, Subject = Trim(Pick(headline.En, headline.Fr), 200), Body = Trim(Pick(body.En, body.Fr), 4000) },
        ];
    }

    private static string Join(string? a, string? b) =>
        string.Join("\n\n", new[] { a, b }.Where(s => !string.IsNullOrWhiteSpace(s)));

    private static string Trim(string s, int max) => s.Length <= max ? s : s[..max];
}
