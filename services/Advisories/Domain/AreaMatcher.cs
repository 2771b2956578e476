using Dcis.Crisis.Common.V1;
using NetTopologySuite.Geometries;
using NetTopologySuite.Geometries.Prepared;

namespace Dcis.Crisis.Advisories.Domain;

/// <summary>
/// Decides whether a place (country, optional subdivision, optional coordinates) lies in an event's
/// area: the whole country; one of its subdivision codes; inside its polygon; within its circle.
/// A place without coordinates is never inside a polygon or circle (we do not guess).
/// </summary>
internal sealed class AreaMatcher
{
    private const double EarthRadiusMeters = 6_371_008.8;
    private static readonly GeometryFactory Factory = new(new PrecisionModel(), 4326);

    private readonly Area _area;
    private readonly HashSet<string> _subdivisions;
    private readonly IPreparedGeometry? _polygon;

    public AreaMatcher(Area area)
    {
        ArgumentNullException.ThrowIfNull(area);
        _area = area;
        _subdivisions = area.SubdivisionCodes.Select(c => c.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
        if (area.Polygon is { Vertices.Count: >= 3 } polygon)
        {
            var ring = polygon.Vertices.Select(v => new Coordinate(v.Longitude, v.Latitude)).ToList();
            ring.Add(ring[0]);
            _polygon = PreparedGeometryFactory.Prepare(Factory.CreatePolygon([.. ring]));
        }
    }

    public string CountryCode => _area.CountryCode.ToUpperInvariant();

    /// <summary>Whether the area is the whole country.</summary>
    public bool IsWholeCountry => _subdivisions.Count == 0 && _polygon is null && _area.Circle is null;

    public bool Contains(string countryCode, string? subdivisionCode, double? latitude, double? longitude)
    {
        if (!string.Equals(countryCode, CountryCode, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (IsWholeCountry)
        {
            return true;
        }

        if (_subdivisions.Count > 0)
        {
            return !string.IsNullOrEmpty(subdivisionCode) && _subdivisions.Contains(subdivisionCode.ToUpperInvariant());
        }

        if (latitude is not { } lat || longitude is not { } lon)
        {
            return false;
        }

        if (_polygon is not null)
        {
            return _polygon.Covers(Factory.CreatePoint(new Coordinate(lon, lat)));
        }

        var c = _area.Circle!;
        return DistanceMeters(c.Center.Latitude, c.Center.Longitude, lat, lon) <= c.RadiusMeters;
    }

    /// <summary>Whether a subscription to a country (and optional subdivision) covers this area.</summary>
    public bool ConcernsRegion(string countryCode, string subdivisionCode)
    {
        if (!string.Equals(countryCode, CountryCode, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (string.IsNullOrEmpty(subdivisionCode) || IsWholeCountry)
        {
            return true;
        }

        // A polygon or circle may overlap any region of its country: we cannot tell without the
        // region's shape, so a region subscriber is told (better one advisory too many than one missed).
        return _subdivisions.Count == 0 || _subdivisions.Contains(subdivisionCode.ToUpperInvariant());
    }

    /// <summary>Great-circle distance (haversine).</summary>
    public static double DistanceMeters(double lat1, double lon1, double lat2, double lon2)
    {
        static double Rad(double d) => d * Math.PI / 180;
        var dLat = Rad(lat2 - lat1);
        var dLon = Rad(lon2 - lon1);
        var a = Math.Pow(Math.Sin(dLat / 2), 2) + (Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Pow(Math.Sin(dLon / 2), 2));
        return 2 * EarthRadiusMeters * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }
}
