using System.Globalization;
using System.Text;
using Dcis.Crisis.Common.V1;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Dcis.Crisis.Cli.Commands;

/// <summary>How every command writes values in its tables: levels, areas, times, enum names, one-line texts.</summary>
internal static class CliFormat
{
    /// <summary>The next page token, or empty when the last page is reached (or the server repeats itself).</summary>
    internal static string NextToken(string previous, string next) => string.Equals(previous, next, StringComparison.Ordinal) ? string.Empty : next;

    /// <summary>"3 Déconseillé sauf raison impérative".</summary>
    internal static string Level(ThreatLevel level) => level switch
    {
        ThreatLevel.Normal => "1 Vigilance normale",
        ThreatLevel.Increased => "2 Vigilance renforcée",
        ThreatLevel.AvoidNonEssential => "3 Déconseillé sauf raison impérative",
        ThreatLevel.DoNotTravel => "4 Formellement déconseillé",
        _ => "-",
    };

    internal static string AreaText(Area? area)
    {
        if (area is null)
        {
            return "-";
        }

        var text = area.CountryCode;
        if (area.SubdivisionCodes.Count > 0)
        {
            text += " " + string.Join(',', area.SubdivisionCodes);
        }
        else if (area.Polygon is { } polygon)
        {
            text += $" polygon ({Num(polygon.Vertices.Count)} vertices)";
        }
        else if (area.Circle is { } circle)
        {
            text += $" {(circle.RadiusMeters / 1000).ToString("0.#", CultureInfo.InvariantCulture)} km around {Point(circle.Center?.Latitude ?? 0, circle.Center?.Longitude ?? 0)}";
        }

        return area.ZoneName.Length > 0 ? $"{text} \"{area.ZoneName}\"" : text;
    }

    /// <summary>An enum value as lower-case words joined by dashes: NaturalDisaster → natural-disaster.</summary>
    internal static string Kebab<T>(T value)
        where T : struct, System.Enum
    {
        var name = value.ToString();
        var text = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                text.Append('-');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }

    internal static string Text(LocalizedText? text) => text is null ? "-" : NonEmpty(text.Fr, NonEmpty(text.En, "-"));

    internal static string NonEmpty(string? value, string fallback) => string.IsNullOrEmpty(value) ? fallback : value;

    internal static string OneLine(string? text) => string.IsNullOrWhiteSpace(text) ? "-" : text.ReplaceLineEndings(" ");

    internal static string Point(double lat, double lon) =>
        $"{lat.ToString("0.#####", CultureInfo.InvariantCulture)},{lon.ToString("0.#####", CultureInfo.InvariantCulture)}";

    internal static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    internal static string Time(Timestamp? t) => t is null ? "-" : t.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture);

    internal static string Date(Timestamp? t) => t is null ? "-" : t.ToDateTimeOffset().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
