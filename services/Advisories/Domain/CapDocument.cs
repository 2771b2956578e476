using System.Globalization;
using System.Xml.Linq;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Cap;

namespace Dcis.Crisis.Advisories.Domain;

/// <summary>
/// An advisory as an OASIS CAP 1.2 <c>&lt;alert&gt;</c>: one <c>&lt;info&gt;</c> per language,
/// the area with its ISO 3166 geocodes, polygon or circle. Restricted scope: it is the company's.
/// </summary>
internal static class CapDocument
{
    public static readonly XNamespace Ns = "urn:oasis:names:tc:emergency:cap:1.2";
    public const string Sender = "advisories@dcis-crisis.example";

    public static XDocument Build(Advisory advisory)
    {
        ArgumentNullException.ThrowIfNull(advisory);
        var sent = CapTime(advisory.IssuedAt.ToDateTimeOffset());
        var alert = new XElement(Ns + "alert",
            new XElement(Ns + "identifier", advisory.AdvisoryId),
            new XElement(Ns + "sender", Sender),
            new XElement(Ns + "sent", sent),
            new XElement(Ns + "status", "Actual"),
            new XElement(Ns + "msgType", MessageType(advisory)),
            new XElement(Ns + "scope", "Restricted"),
            new XElement(Ns + "restriction", "Company security managers of " + advisory.CompanyId),
            new XElement(Ns + "code", "DCIS-ADVISORY"),
            new XElement(Ns + "incidents", advisory.CauseEventId));
        if (!string.IsNullOrEmpty(advisory.CrisisId))
        {
            alert.Element(Ns + "incidents")!.Value = advisory.CauseEventId + " " + advisory.CrisisId;
        }

        alert.Add(Info(advisory, fr: true), Info(advisory, fr: false));
        return new XDocument(new XDeclaration("1.0", "utf-8", null), alert);
    }

    private static XElement Info(Advisory a, bool fr)
    {
        var info = new XElement(Ns + "info", new XElement(Ns + "language", fr ? "fr-FR" : "en-GB"));
        foreach (var category in Categories(a))
        {
            info.Add(new XElement(Ns + "category", category));
        }

        info.Add(
            new XElement(Ns + "event", fr ? EventFr(a.Cause) : EventEn(a.Cause)),
            new XElement(Ns + "responseType", a.NewLevel >= ThreatLevel.DoNotTravel ? "Evacuate" : a.NewLevel >= ThreatLevel.AvoidNonEssential ? "Prepare" : "Monitor"),
            new XElement(Ns + "urgency", a.NewLevel >= ThreatLevel.AvoidNonEssential ? "Immediate" : "Expected"),
            new XElement(Ns + "severity", a.NewLevel switch
            {
                ThreatLevel.DoNotTravel => "Extreme",
                ThreatLevel.AvoidNonEssential => "Severe",
                ThreatLevel.Increased => "Moderate",
                ThreatLevel.Normal => "Minor",
                _ => "Unknown",
            }),
            new XElement(Ns + "certainty", "Observed"),
            new XElement(Ns + "audience", fr ? "Responsables sûreté de l'entreprise" : "Company security managers"),
            new XElement(Ns + "eventCode", new XElement(Ns + "valueName", "DCIS-LEVEL"), new XElement(Ns + "value", ((int)a.NewLevel).ToString(CultureInfo.InvariantCulture))),
            new XElement(Ns + "effective", CapTime(a.IssuedAt.ToDateTimeOffset())),
            new XElement(Ns + "senderName", fr ? "DCIS — cellule de crise" : "DCIS crisis cell"),
            new XElement(Ns + "headline", Truncate(fr ? a.Headline.Fr : a.Headline.En, 160)),
            new XElement(Ns + "description", Description(a, fr)));
        if (a.RecommendedMeasures.Count > 0)
        {
            info.Add(new XElement(Ns + "instruction", string.Join("\n", a.RecommendedMeasures.Select(m => fr ? m.Fr : m.En))));
        }

        info.Add(new XElement(Ns + "parameter", new XElement(Ns + "valueName", "sequence"), new XElement(Ns + "value", a.Sequence.ToString(CultureInfo.InvariantCulture))));
        info.Add(Area(a.Area));
        return info;
    }

    private static XElement Area(Area area)
    {
        var element = new XElement(Ns + "areaDesc", AdvisoryTrigger.ZoneName(area));
        var result = new XElement(Ns + "area", element);
        if (area.Polygon is { Vertices.Count: >= 3 } polygon)
        {
            var points = polygon.Vertices.Concat([polygon.Vertices[0]]).Select(Point);
            result.Add(new XElement(Ns + "polygon", string.Join(" ", points)));
        }

        if (area.Circle is { } circle)
        {
            result.Add(new XElement(Ns + "circle", Point(circle.Center) + " " + (circle.RadiusMeters / 1000).ToString("0.###", CultureInfo.InvariantCulture)));
        }

        result.Add(Geocode("ISO3166-1", area.CountryCode));
        foreach (var code in area.SubdivisionCodes)
        {
            result.Add(Geocode("ISO3166-2", code));
        }

        return result;
    }

    private static XElement Geocode(string name, string value) =>
        new(Ns + "geocode", new XElement(Ns + "valueName", name), new XElement(Ns + "value", value));

    private static string Point(LatLng p) =>
        p.Latitude.ToString("0.######", CultureInfo.InvariantCulture) + "," + p.Longitude.ToString("0.######", CultureInfo.InvariantCulture);

    private static string Description(Advisory a, bool fr)
    {
        var lines = new List<string> { fr ? a.Description.Fr : a.Description.En };
        if (a.AffectedSites.Count > 0)
        {
            lines.Add((fr ? "Sites concernés : " : "Sites affected: ") + string.Join(", ", a.AffectedSites.Select(s => s.Name)));
        }

        if (a.AffectedTravellers.Count > 0)
        {
            lines.Add((fr ? "Voyageurs concernés : " : "Travellers affected: ") + string.Join(", ", a.AffectedTravellers.Select(t => t.TravellerReference)));
        }

        return string.Join("\n", lines.Where(l => l.Length > 0));
    }

    private static string MessageType(Advisory a) => a.Cause switch
    {
        AdvisoryCause.CrisisClosed => "Update",
        AdvisoryCause.ConsularAlert when a.Headline.En.StartsWith("Cancelled", StringComparison.Ordinal) => "Update",
        _ => "Alert",
    };

    private static SortedSet<string> Categories(Advisory a)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal) { "Security" };
        foreach (var c in a.Categories.Select(r => r.Category).Concat(a.CategoriesAdded))
        {
            set.Add(CapCategories.Of(c));
        }

        return set;
    }

    private static string EventFr(AdvisoryCause c) => c switch
    {
        AdvisoryCause.LevelChanged => "Changement de niveau de menace",
        AdvisoryCause.CrisisDeclared => "Crise déclarée",
        AdvisoryCause.CrisisClosed => "Crise close",
        AdvisoryCause.ConsularAlert => "Alerte consulaire",
        _ => "Avis de sûreté",
    };

    private static string EventEn(AdvisoryCause c) => c switch
    {
        AdvisoryCause.LevelChanged => "Threat level change",
        AdvisoryCause.CrisisDeclared => "Crisis declared",
        AdvisoryCause.CrisisClosed => "Crisis closed",
        AdvisoryCause.ConsularAlert => "Consular alert",
        _ => "Security advisory",
    };

    /// <summary>CAP times: no fractions, explicit offset (the schema's pattern refuses "Z").</summary>
    public static string CapTime(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture);

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
