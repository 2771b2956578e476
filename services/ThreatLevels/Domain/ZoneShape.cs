using Dcis.Crisis.Common.V1;
using NetTopologySuite.Geometries;

namespace Dcis.Crisis.ThreatLevels.Domain;

/// <summary>
/// The ground shape of a polygon or circle zone, ready for fast point-in-zone tests. Polygons are
/// planar in (longitude, latitude) — good enough at the scale of a zone; circles use great-circle distance.
/// NetTopologySuite validates the polygon once; lookups use a bounding box and an even-odd ray cast
/// over plain arrays (no allocation, no lock: thousands of concurrent lookups share one shape).
/// </summary>
public sealed class ZoneShape
{
    private const double EarthRadiusMeters = 6_371_008.8;
    private const double MetersPerDegree = 111_320;
    private static readonly GeometryFactory Factory = new(new PrecisionModel(), 4326);

    private readonly double[]? _xs;
    private readonly double[]? _ys;
    private readonly Envelope? _box;
    private readonly LatLng? _center;
    private readonly double _radiusMeters;

    private ZoneShape(NetTopologySuite.Geometries.Polygon? polygon, LatLng? center, double radiusMeters, double areaSquareMeters)
    {
        if (polygon is not null)
        {
            var ring = polygon.ExteriorRing.Coordinates;
            _xs = [.. ring.Select(c => c.X)];
            _ys = [.. ring.Select(c => c.Y)];
            _box = polygon.EnvelopeInternal;
        }

        _center = center;
        _radiusMeters = radiusMeters;
        AreaSquareMeters = areaSquareMeters;
    }

    /// <summary>Approximate ground area, used to pick the most specific of overlapping zones.</summary>
    public double AreaSquareMeters { get; }

    /// <summary>The shape of an area, or null when the area has no polygon or circle (country, subdivisions).</summary>
    public static ZoneShape? Of(Area area)
    {
        ArgumentNullException.ThrowIfNull(area);
        if (area.Polygon is { Vertices.Count: > 0 } p)
        {
            var polygon = BuildPolygon(p);
            var centroid = polygon.Centroid;
            var area2 = polygon.Area * MetersPerDegree * MetersPerDegree * Math.Cos(centroid.Y * Math.PI / 180);
            return new ZoneShape(polygon, null, 0, area2);
        }

        if (area.Circle is { } c)
        {
            return new ZoneShape(null, c.Center, c.RadiusMeters, Math.PI * c.RadiusMeters * c.RadiusMeters);
        }

        return null;
    }

    /// <summary>Builds the NetTopologySuite polygon (closing the ring).</summary>
    public static NetTopologySuite.Geometries.Polygon BuildPolygon(Common.V1.Polygon polygon)
    {
        ArgumentNullException.ThrowIfNull(polygon);
        var coordinates = new Coordinate[polygon.Vertices.Count + 1];
        for (var i = 0; i < polygon.Vertices.Count; i++)
        {
            coordinates[i] = new Coordinate(polygon.Vertices[i].Longitude, polygon.Vertices[i].Latitude);
        }

        coordinates[^1] = coordinates[0];
        return Factory.CreatePolygon(coordinates);
    }

    /// <summary>Whether the point is inside (or on the edge of) the zone.</summary>
    public bool Contains(LatLng point)
    {
        ArgumentNullException.ThrowIfNull(point);
        if (_xs is not null)
        {
            return _box!.Contains(point.Longitude, point.Latitude) && InRing(_xs, _ys!, point.Longitude, point.Latitude);
        }

        return _center is not null && DistanceMeters(_center, point) <= _radiusMeters;
    }

    // Even-odd rule over the closed ring (last vertex repeats the first).
    private static bool InRing(double[] xs, double[] ys, double x, double y)
    {
        var inside = false;
        for (int i = 0, j = xs.Length - 2; i < xs.Length - 1; j = i++)
        {
            if ((ys[i] > y) != (ys[j] > y) && x < ((xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i])) + xs[i])
            {
                inside = !inside;
            }
        }

        return inside;
    }

    /// <summary>Great-circle (haversine) distance.</summary>
    public static double DistanceMeters(LatLng a, LatLng b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var lat1 = a.Latitude * Math.PI / 180;
        var lat2 = b.Latitude * Math.PI / 180;
        var dLat = lat2 - lat1;
        var dLng = (b.Longitude - a.Longitude) * Math.PI / 180;
        var h = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(lat1) * Math.Cos(lat2) * Math.Sin(dLng / 2) * Math.Sin(dLng / 2));
        return 2 * EarthRadiusMeters * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }
}
