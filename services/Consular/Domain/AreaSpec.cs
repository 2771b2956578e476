using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Hosting;

namespace Dcis.Crisis.Consular.Domain;

/// <summary>
/// Who counts as present: a place (country, optionally narrowed by subdivisions, a polygon or a
/// circle — all given constraints must hold) on a day, plus arrivals up to <see cref="ArrivalUntil"/>.
/// </summary>
internal sealed record PresenceSpec(
    string Country,
    IReadOnlySet<string> Subdivisions,
    IReadOnlyList<LatLng>? Polygon,
    Circle? Circle,
    DateOnly Date,
    DateOnly ArrivalUntil)
{
    public bool HasGeometry => Polygon is not null || Circle is not null;

    public static PresenceSpec From(Area area, DateTimeOffset at, int arrivingWithinDays)
    {
        ArgumentNullException.ThrowIfNull(area);
        var date = Iso.DateOf(at);
        return new PresenceSpec(
            area.CountryCode,
            area.SubdivisionCodes.ToHashSet(StringComparer.Ordinal),
            area.Polygon is { Vertices.Count: >= 3 } p ? p.Vertices.ToList() : null,
            area.Circle is { RadiusMeters: > 0 } c ? c : null,
            date,
            date.AddDays(Math.Max(0, arrivingWithinDays)));
    }

    /// <summary>Whether a place of the country (home or trip leg) lies in the area.</summary>
    public bool Matches(string? subdivision, double? lat, double? lng)
    {
        if (Subdivisions.Count > 0 && (subdivision is null || !Subdivisions.Contains(subdivision)))
        {
            return false;
        }

        if (Polygon is not null && (lat is null || lng is null || !Geo.Contains(Polygon, lat.Value, lng.Value)))
        {
            return false;
        }

        if (Circle is not null && (lat is null || lng is null
            || Geo.DistanceMeters(Circle.Center.Latitude, Circle.Center.Longitude, lat.Value, lng.Value) > Circle.RadiusMeters))
        {
            return false;
        }

        return true;
    }
}

/// <summary>Validation of areas in requests.</summary>
internal static class AreaRules
{
    public static Validator Area(this Validator v, string field, Area? area)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (area is null)
        {
            return v.Add(field, "is required");
        }

        v.Check(Iso.IsCountry(area.CountryCode), $"{field}.country_code", "must be a known ISO 3166-1 alpha-2 code such as ML");
        for (var i = 0; i < area.SubdivisionCodes.Count; i++)
        {
            v.Check(Iso.IsSubdivisionOf(area.SubdivisionCodes[i], area.CountryCode), $"{field}.subdivision_codes[{i}]",
                "must be a known ISO 3166-2 code of the country, such as ML-BKO");
        }

        if (area.Polygon is { } polygon)
        {
            v.Check(polygon.Vertices.Count is >= 3 and <= Limits.MaxPolygonVertices, $"{field}.polygon.vertices",
                $"must have 3 to {Limits.MaxPolygonVertices} vertices");
            for (var i = 0; i < Math.Min(polygon.Vertices.Count, Limits.MaxPolygonVertices); i++)
            {
                v.LatLng($"{field}.polygon.vertices[{i}]", polygon.Vertices[i]);
            }
        }

        if (area.Circle is { } circle)
        {
            v.Check(circle.Center is not null, $"{field}.circle.center", "is required");
            if (circle.Center is not null)
            {
                v.LatLng($"{field}.circle.center", circle.Center);
            }

            v.Check(circle.RadiusMeters is > 0 and <= Limits.MaxCircleRadiusMeters, $"{field}.circle.radius_meters",
                $"must be between 0 and {Limits.MaxCircleRadiusMeters}");
        }

        return v.MaxLength($"{field}.zone_name", area.ZoneName);
    }

    public static Validator LatLng(this Validator v, string field, LatLng point)
    {
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(point);
        return v.Check(point.Latitude is >= -90 and <= 90, $"{field}.latitude", "must be between -90 and 90")
            .Check(point.Longitude is >= -180 and <= 180, $"{field}.longitude", "must be between -180 and 180");
    }

    public static Validator ArrivalWindow(this Validator v, string field, int days) =>
        v.Check(days is >= 0 and <= 90, field, "must be between 0 and 90");
}
