using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.ThreatLevels.Domain;

namespace Dcis.Crisis.ThreatLevels.Tests.Domain;

public sealed class RulesTests
{
    private static readonly CountryCatalog Catalog = CountryCatalog.Load();

    [Theory]
    [InlineData(ThreatLevel.Unspecified, ThreatLevel.DoNotTravel, true)]
    [InlineData(ThreatLevel.AvoidNonEssential, ThreatLevel.DoNotTravel, true)]
    [InlineData(ThreatLevel.DoNotTravel, ThreatLevel.DoNotTravel, false)]
    [InlineData(ThreatLevel.DoNotTravel, ThreatLevel.Increased, false)]
    [InlineData(ThreatLevel.Normal, ThreatLevel.AvoidNonEssential, false)]
    public void Only_Raising_To_Level4_Needs_Four_Eyes(ThreatLevel from, ThreatLevel to, bool expected) =>
        Assert.Equal(expected, Rules.NeedsFourEyes(from, to));

    [Fact]
    public void Circle_Contains_Points_By_Great_Circle_Distance()
    {
        var shape = ZoneShape.Of(new Area { CountryCode = "FR", Circle = new Circle { Center = new LatLng { Latitude = 48.8566, Longitude = 2.3522 }, RadiusMeters = 10_000 } })!;
        Assert.True(shape.Contains(new LatLng { Latitude = 48.90, Longitude = 2.40 }));
        Assert.False(shape.Contains(new LatLng { Latitude = 49.0, Longitude = 2.35 }));
    }

    [Fact]
    public void Catalog_Knows_Subdivision_Ancestors()
    {
        Assert.Equal(["FR-69", "FR-ARA"], Catalog.SelfAndAncestors("FR-69"));
        Assert.True(Catalog.IsCountry("ML"));
        Assert.False(Catalog.IsCountry("ml"));
    }

    [Fact]
    public void Area_With_Duplicate_Subdivisions_Is_Invalid()
    {
        var v = new Validator();
        Rules.ValidateArea(v, "area", new Area { CountryCode = "ML", SubdivisionCodes = { "ML-7", "ML-7" } }, Catalog);
        Assert.False(v.IsValid);
    }
}
