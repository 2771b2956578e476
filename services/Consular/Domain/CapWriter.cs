using System.Globalization;
using System.Text;
using System.Xml;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Cap;

namespace Dcis.Crisis.Consular.Domain;

/// <summary>Writes an alert version as an OASIS CAP 1.2 &lt;alert&gt; (element order as the schema demands).</summary>
internal static class CapWriter
{
    public const string Namespace = "urn:oasis:names:tc:emergency:cap:1.2";

    public static string Sender(string postId) => $"{postId}@consular.dcis-crisis";

    public static string Identifier(string alertId, long version) => $"urn:dcis-crisis:consular:{alertId}:v{version}";

    /// <summary>CAP dateTime: no fractions, explicit offset (never "Z").</summary>
    public static string CapTime(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture);

    /// <param name="alert">The version to export.</param>
    /// <param name="earlier">Earlier versions of the same alert (referenced by Update and Cancel).</param>
    public static string Write(AlertRecord alert, IReadOnlyList<AlertRecord> earlier)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(earlier);
        var sb = new StringBuilder();
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false), OmitXmlDeclaration = false };
        using (var w = XmlWriter.Create(sb, settings))
        {
            w.WriteStartDocument();
            w.WriteStartElement("alert", Namespace);
            w.WriteElementString("identifier", Namespace, Identifier(alert.AlertId, alert.Version));
            w.WriteElementString("sender", Namespace, Sender(alert.PostId));
            w.WriteElementString("sent", Namespace, CapTime(alert.IssuedAt));
            w.WriteElementString("status", Namespace, "Actual");
            w.WriteElementString("msgType", Namespace, alert.MessageType switch
            {
                AlertMessageType.Update => "Update",
                AlertMessageType.Cancel => "Cancel",
                _ => "Alert",
            });
            w.WriteElementString("source", Namespace, alert.IssuedBy == "system" ? "dcis-crisis threat levels" : "consular officer");
            w.WriteElementString("scope", Namespace, "Public");
            if (alert.MessageType != AlertMessageType.Alert && earlier.Count > 0)
            {
                w.WriteElementString("references", Namespace, string.Join(' ', earlier.OrderBy(e => e.Version)
                    .Select(e => $"{Sender(e.PostId)},{Identifier(e.AlertId, e.Version)},{CapTime(e.IssuedAt)}")));
            }

            if (!string.IsNullOrEmpty(alert.CrisisId))
            {
                w.WriteElementString("incidents", Namespace, alert.CrisisId);
            }

            WriteInfo(w, alert, "fr-FR", alert.Headline.Fr, alert.Body.Fr, alert.Headline.En, alert.Body.En);
            WriteInfo(w, alert, "en-GB", alert.Headline.En, alert.Body.En, alert.Headline.Fr, alert.Body.Fr);
            w.WriteEndElement();
            w.WriteEndDocument();
        }

        // StringBuilder output declares utf-16; the document is served as UTF-8 text.
        return sb.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal);
    }

    private static void WriteInfo(XmlWriter w, AlertRecord a, string language, string headline, string body, string fallbackHeadline, string fallbackBody)
    {
        var fr = language.StartsWith("fr", StringComparison.Ordinal);
        w.WriteStartElement("info", Namespace);
        w.WriteElementString("language", Namespace, language);
        foreach (var category in Categories(a.Categories))
        {
            w.WriteElementString("category", Namespace, category);
        }

        w.WriteElementString("event", Namespace, fr ? "Alerte consulaire" : "Consular alert");
        w.WriteElementString("responseType", Namespace, a.MessageType == AlertMessageType.Cancel ? "None"
            : a.Level >= ThreatLevel.DoNotTravel ? "Avoid" : "Monitor");
        w.WriteElementString("urgency", Namespace, a.Priority switch
        {
            Priority.Urgent => "Immediate",
            Priority.High => "Expected",
            Priority.Routine => "Future",
            _ => "Unknown",
        });
        w.WriteElementString("severity", Namespace, a.Level switch
        {
            ThreatLevel.DoNotTravel => "Extreme",
            ThreatLevel.AvoidNonEssential => "Severe",
            ThreatLevel.Increased => "Moderate",
            ThreatLevel.Normal => "Minor",
            _ => "Unknown",
        });
        w.WriteElementString("certainty", Namespace, string.IsNullOrEmpty(a.CauseEventId) ? "Likely" : "Observed");
        w.WriteElementString("effective", Namespace, CapTime(a.IssuedAt));
        w.WriteElementString("expires", Namespace, CapTime(a.ExpiresAt));
        w.WriteElementString("senderName", Namespace, a.PostId);
        w.WriteElementString("headline", Namespace, string.IsNullOrWhiteSpace(headline) ? fallbackHeadline : headline);
        w.WriteElementString("description", Namespace, string.IsNullOrWhiteSpace(body) ? fallbackBody : body);
        WriteArea(w, a.Area);
        w.WriteEndElement();
    }

    private static void WriteArea(XmlWriter w, Area area)
    {
        w.WriteStartElement("area", Namespace);
        w.WriteElementString("areaDesc", Namespace, AlertTexts.AreaName(area));
        if (area.Polygon is { Vertices.Count: >= 3 } polygon)
        {
            var points = polygon.Vertices.Select(Point).ToList();
            if (points[0] != points[^1])
            {
                points.Add(points[0]);
            }

            w.WriteElementString("polygon", Namespace, string.Join(' ', points));
        }

        if (area.Circle is { RadiusMeters: > 0 } circle)
        {
            w.WriteElementString("circle", Namespace, string.Create(CultureInfo.InvariantCulture,
                $"{Point(circle.Center)} {circle.RadiusMeters / 1000.0:0.###}"));
        }

        Geocode(w, "ISO3166-1", area.CountryCode);
        foreach (var code in area.SubdivisionCodes)
        {
            Geocode(w, "ISO3166-2", code);
        }

        w.WriteEndElement();
    }

    private static void Geocode(XmlWriter w, string name, string value)
    {
        w.WriteStartElement("geocode", Namespace);
        w.WriteElementString("valueName", Namespace, name);
        w.WriteElementString("value", Namespace, value);
        w.WriteEndElement();
    }

    private static string Point(LatLng p) => string.Create(CultureInfo.InvariantCulture, $"{p.Latitude:0.######},{p.Longitude:0.######}");

    private static List<string> Categories(IReadOnlyList<ThreatCategory> categories)
    {
        var result = categories.Select(CapCategories.Of).Distinct(StringComparer.Ordinal).ToList();
        return result.Count > 0 ? result : ["Safety"];
    }
}
