using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Consular.Domain;

/// <summary>Point-in-polygon and distance, enough for targeting places within a country.</summary>
internal static class Geo
{
    private const double EarthRadiusMeters = 6_371_000;

    /// <summary>Ray casting on latitude/longitude (areas are small enough for the plane approximation).</summary>
    public static bool Contains(IReadOnlyList<LatLng> polygon, double lat, double lng)
    {
        ArgumentNullException.ThrowIfNull(polygon);
        var inside = false;
        for (int i = 0, j = polygon.Count - 1; i < polygon.Count; j = i++)
        {
            var (yi, xi) = (polygon[i].Latitude, polygon[i].Longitude);
            var (yj, xj) = (polygon[j].Latitude, polygon[j].Longitude);
            if ((yi > lat) != (yj > lat) && lng < ((xj - xi) * (lat - yi) / (yj - yi)) + xi)
            {
                inside = !inside;
            }
        }

        return inside;
    }

    /// <summary>Great-circle distance in metres (haversine).</summary>
    public static double DistanceMeters(double lat1, double lng1, double lat2, double lng2)
    {
        static double Rad(double d) => d * Math.PI / 180;
        var dLat = Rad(lat2 - lat1);
        var dLng = Rad(lng2 - lng1);
        var a = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Sin(dLng / 2) * Math.Sin(dLng / 2));
        return 2 * EarthRadiusMeters * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }
}
