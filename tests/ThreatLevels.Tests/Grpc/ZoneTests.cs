using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

public sealed class ZoneTests(ThreatLevelsFixture fixture) : IClassFixture<ThreatLevelsFixture>
{
    // A box around northern Mali (Tombouctou, Kidal, Gao), roughly.
    private static readonly (double, double)[] NorthMali = [(15.0, -6.0), (15.0, 4.5), (25.0, 4.5), (25.0, -6.0)];

    private static GetEffectiveLevelRequest Point(string country, double lat, double lng) =>
        new() { Point = new PointTarget { CountryCode = country, Location = new LatLng { Latitude = lat, Longitude = lng } } };

    [Fact]
    public async Task Point_In_A_Level4_Zone_Of_A_Level2_Country_Reads_4_And_Outside_Reads_2()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("ML", ThreatLevel.Increased));
        var zone = Build.PolygonZone("ML", ThreatLevel.DoNotTravel, NorthMali);
        zone.Emergency = true;
        var created = await Build.ApplyAsync(analyst, zone);

        var gao = await analyst.GetEffectiveLevelAsync(Point("ML", 16.27, -0.04));
        var bamako = await analyst.GetEffectiveLevelAsync(Point("ML", 12.65, -8.0));

        Assert.Equal(ThreatLevel.DoNotTravel, gao.Level);
        Assert.Equal(LevelSource.Zone, gao.Source);
        Assert.Equal(created.AssessmentId, gao.Assessment.AssessmentId);
        Assert.Equal(ThreatLevel.Increased, gao.CountryLevel);
        Assert.Equal(ThreatLevel.Increased, bamako.Level);
        Assert.Equal(LevelSource.Country, bamako.Source);
        Assert.StartsWith("ML/zone/", created.AssessmentId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Point_Lookup_Picks_The_Most_Specific_Zone()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("NE", ThreatLevel.Increased));
        await Build.ApplyAsync(analyst, Build.PolygonZone("NE", ThreatLevel.AvoidNonEssential, (12, 0), (12, 10), (20, 10), (20, 0)));
        var circle = Build.Country("NE", ThreatLevel.DoNotTravel);
        circle.Area.Circle = new Circle { Center = new LatLng { Latitude = 13.51, Longitude = 2.11 }, RadiusMeters = 30_000 };
        circle.Emergency = true;
        await Build.ApplyAsync(analyst, circle);

        var niamey = await analyst.GetEffectiveLevelAsync(Point("NE", 13.52, 2.12));
        var agadez = await analyst.GetEffectiveLevelAsync(Point("NE", 16.97, 7.99));
        var diffa = await analyst.GetEffectiveLevelAsync(Point("NE", 13.31, 12.61));

        Assert.Equal(ThreatLevel.DoNotTravel, niamey.Level);
        Assert.Equal(ThreatLevel.AvoidNonEssential, agadez.Level);
        Assert.Equal(ThreatLevel.Increased, diffa.Level);
    }

    [Fact]
    public async Task Country_Level_Lists_Its_Zones_And_A_Zone_Reads_Its_Own_Level()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("BF", ThreatLevel.AvoidNonEssential));
        var zone = Build.Country("BF", ThreatLevel.DoNotTravel);
        zone.Area.SubdivisionCodes.Add("BF-01");
        zone.Emergency = true;
        var created = await Build.ApplyAsync(analyst, zone);

        var country = await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { CountryCode = "BF" });
        var byId = await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { AssessmentId = created.AssessmentId });

        Assert.Equal(ThreatLevel.AvoidNonEssential, country.Level);
        Assert.Equal(created.AssessmentId, Assert.Single(country.Zones).AssessmentId);
        Assert.Equal(ThreatLevel.DoNotTravel, byId.Level);
        Assert.Equal(LevelSource.Zone, byId.Source);
    }

    [Fact]
    public async Task Subdivision_Lookup_Uses_The_Zone_Naming_It_Or_Its_Parent_Else_The_Country()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("FR", ThreatLevel.Normal));
        var region = Build.Country("FR", ThreatLevel.Increased);
        region.Area.SubdivisionCodes.Add("FR-ARA");
        await Build.ApplyAsync(analyst, region);

        var lyon = await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { SubdivisionCode = "FR-69" });
        var paris = await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { SubdivisionCode = "FR-75" });

        Assert.Equal(ThreatLevel.Increased, lyon.Level);
        Assert.Equal(LevelSource.Zone, lyon.Source);
        Assert.Equal(ThreatLevel.Normal, paris.Level);
        Assert.Equal(LevelSource.Country, paris.Source);
    }

    [Fact]
    public async Task A_Zone_Is_Versioned_Like_A_Country()
    {
        var analyst = fixture.Analyst();
        var zone = Build.PolygonZone("TD", ThreatLevel.AvoidNonEssential, (12, 14), (12, 16), (14, 16), (14, 14));
        var created = await Build.ApplyAsync(analyst, zone);
        var update = zone.Clone();
        update.AssessmentId = created.AssessmentId;
        update.Level = ThreatLevel.Increased;
        update.ExpectedVersion = 1;

        var updated = await Build.ApplyAsync(analyst, update);
        await Build.FailsAsync(StatusCode.FailedPrecondition, () => analyst.SetAssessmentAsync(Build.Set(update)).ResponseAsync);

        Assert.Equal(created.AssessmentId, updated.AssessmentId);
        Assert.Equal(2, updated.Version);
    }

    [Fact]
    public async Task Country_Without_Assessment_Reads_Unspecified()
    {
        var viewer = fixture.Client(Shared.Security.Roles.CrisisCellViewer, "viewer");
        var response = await viewer.GetEffectiveLevelAsync(Point("AQ", -75, 0));
        Assert.Equal(ThreatLevel.Unspecified, response.Level);
        Assert.Equal(LevelSource.None, response.Source);
    }

    [Fact]
    public async Task ListCountries_Has_Every_Country_With_French_And_English_Names_And_Subdivisions()
    {
        var viewer = fixture.Client(Shared.Security.Roles.CrisisCellViewer, "viewer");
        var all = await viewer.ListCountriesAsync(new ListCountriesRequest { PageSize = 500 });
        var germany = (await viewer.ListCountriesAsync(new ListCountriesRequest { CountryCodes = { "DE" }, IncludeSubdivisions = true })).Countries.Single();

        Assert.Equal(249, all.Countries.Count);
        Assert.Empty(all.NextPageToken);
        Assert.Empty(all.Countries.Single(c => c.Code == "FR").Subdivisions);
        Assert.Equal("Allemagne", germany.Name.Fr);
        Assert.Equal("Germany", germany.Name.En);
        Assert.Equal("DEU", germany.Alpha3);
        Assert.Contains(germany.Subdivisions, s => s.Code == "DE-BY" && s.Name.Fr == "Bavière");
        Assert.InRange(germany.ReferencePoint.Latitude, 52, 53);
    }

    [Fact]
    public async Task Briefing_Gathers_Country_Zones_Crises_And_Highest_Level()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("HT", ThreatLevel.AvoidNonEssential));
        var zone = Build.Country("HT", ThreatLevel.DoNotTravel);
        zone.Area.SubdivisionCodes.Add("HT-OU");
        zone.Emergency = true;
        await Build.ApplyAsync(analyst, zone);
        await analyst.DeclareCrisisAsync(new DeclareCrisisRequest
        {
            Crisis = new CrisisDraft
            {
                Kind = CrisisKind.Unrest, Area = new Area { CountryCode = "HT" }, Title = new LocalizedText { Fr = "Émeutes", En = "Riots" },
                Reason = "gangs", Emergency = true,
            },
        });

        var briefing = await analyst.GetCountryBriefingAsync(new GetCountryBriefingRequest { CountryCode = "HT" });

        Assert.Equal("Haïti", briefing.Country.Name.Fr);
        Assert.Equal(ThreatLevel.AvoidNonEssential, briefing.CountryAssessment.Level);
        Assert.Single(briefing.Zones);
        Assert.Single(briefing.ActiveCrises);
        Assert.Equal(ThreatLevel.DoNotTravel, briefing.HighestLevel);
    }
}
