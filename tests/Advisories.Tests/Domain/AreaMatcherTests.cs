using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Advisories.Tests.Domain;

public class AreaMatcherTests
{
    [Fact]
    public void WholeCountry_Contains_EveryPlaceOfTheCountry_AndNothingElse()
    {
        var matcher = new AreaMatcher(new Area { CountryCode = "ML" });
        Assert.True(matcher.Contains("ML", "", null, null));
        Assert.True(matcher.Contains("ML", "ML-BKO", 12.6, -8.0));
        Assert.False(matcher.Contains("NE", "", 13.5, 2.1));
    }

    [Fact]
    public void SubdivisionZone_Contains_OnlyPlacesWithThatCode()
    {
        var matcher = new AreaMatcher(new Area { CountryCode = "ML", SubdivisionCodes = { "ML-7", "ML-8" } });
        Assert.True(matcher.Contains("ML", "ML-8", null, null));
        Assert.False(matcher.Contains("ML", "ML-BKO", null, null));
        Assert.False(matcher.Contains("ML", "", 16.0, -3.0));
    }

    [Fact]
    public void PolygonZone_Contains_PointsInside_NotOutside_NorPlacesWithoutCoordinates()
    {
        var matcher = new AreaMatcher(TestEvents.Polygon("ML", (15, -5), (15, 0), (20, 0), (20, -5)));
        Assert.True(matcher.Contains("ML", "", 16.3, -3.0));
        Assert.False(matcher.Contains("ML", "", 12.6, -8.0));
        Assert.False(matcher.Contains("ML", "", null, null));
    }

    [Fact]
    public void CircleZone_Contains_PointsWithinTheRadius()
    {
        var matcher = new AreaMatcher(new Area
        {
            CountryCode = "ML",
            Circle = new Circle { Center = new LatLng { Latitude = 12.64, Longitude = -8.0 }, RadiusMeters = 20_000 },
        });
        Assert.True(matcher.Contains("ML", "", 12.70, -8.05));   // ~8 km
        Assert.False(matcher.Contains("ML", "", 13.0, -8.0));    // ~40 km
    }

    [Fact]
    public void RegionSubscription_ConcernsZonesOfItsRegion_AndWholeCountryChanges()
    {
        Assert.True(new AreaMatcher(new Area { CountryCode = "NG" }).ConcernsRegion("NG", "NG-BO"));
        Assert.True(new AreaMatcher(new Area { CountryCode = "NG", SubdivisionCodes = { "NG-BO" } }).ConcernsRegion("NG", "NG-BO"));
        Assert.False(new AreaMatcher(new Area { CountryCode = "NG", SubdivisionCodes = { "NG-LA" } }).ConcernsRegion("NG", "NG-BO"));
    }
}
