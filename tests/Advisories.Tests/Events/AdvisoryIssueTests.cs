using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Advisories.Tests.Events;

public class AdvisoryIssueTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private readonly AdvisoriesTestHost _host = fixture.Host;

    private static async Task<List<Advisory>> AdvisoriesOf(AdvisoriesService.AdvisoriesServiceClient client) =>
        [.. (await client.ListAdvisoriesAsync(new ListAdvisoriesRequest())).Advisories];

    [Fact]
    public async Task CountryChange_ListsTheCompanysSitesInThatCountry_AndNotElsewhere()
    {
        var client = await _host.RegisterAsync("country-co");
        var bamako = await AdvisoriesTestHost.AddSiteAsync(client, "Bamako office", "CI");
        await AdvisoriesTestHost.AddSiteAsync(client, "Niamey office", "GH");
        var bystander = await _host.RegisterAsync("bystander-co");
        await AdvisoriesTestHost.AddSiteAsync(bystander, "Accra office", "GH");

        await _host.DeliverAsync(TestEvents.LevelChanged("CI", 1, ThreatLevel.AvoidNonEssential, ThreatLevel.Increased));

        var advisory = Assert.Single(await AdvisoriesOf(client));
        Assert.Equal(bamako.SiteId, Assert.Single(advisory.AffectedSites).SiteId);
        Assert.Equal(ThreatLevel.AvoidNonEssential, advisory.NewLevel);
        Assert.Equal(ThreatLevel.Increased, advisory.PreviousLevel);
        Assert.True(advisory.AcknowledgementRequired);
        Assert.Contains(advisory.RecommendedMeasures, m => m.En.Contains("non-essential travel", StringComparison.Ordinal));
        Assert.Contains("level 2 → 3", advisory.Headline.En, StringComparison.Ordinal);
        Assert.Empty(await AdvisoriesOf(bystander));
    }

    [Fact]
    public async Task SubdivisionZoneChange_ListsOnlySitesAndTravellersInTheZone()
    {
        var client = await _host.RegisterAsync("zone-co");
        var north = await AdvisoriesTestHost.AddSiteAsync(client, "Gao base", "BF", "BF-SAH");
        await AdvisoriesTestHost.AddSiteAsync(client, "Capital office", "BF", "BF-KAD");
        var now = DateTime.UtcNow;
        var trip = (await client.CreateStaffTripAsync(new CreateStaffTripRequest
        {
            Trip = new StaffTrip
            {
                TravellerReference = "E-77", TravellerName = "J. Dupont",
                Legs = { new TripLeg { CountryCode = "BF", SubdivisionCode = "BF-SAH", FromTime = Timestamp.FromDateTime(now.AddDays(1)), ToTime = Timestamp.FromDateTime(now.AddDays(4)) } },
            },
        })).Trip;
        await client.CreateStaffTripAsync(new CreateStaffTripRequest
        {
            Trip = new StaffTrip
            {
                TravellerReference = "E-78",
                Legs = { new TripLeg { CountryCode = "BF", SubdivisionCode = "BF-KAD", FromTime = Timestamp.FromDateTime(now), ToTime = Timestamp.FromDateTime(now.AddDays(2)) } },
            },
        });

        await _host.DeliverAsync(TestEvents.LevelChanged("BF", 1, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential,
            new Area { CountryCode = "BF", SubdivisionCodes = { "BF-SAH" }, ZoneName = "Sahel" }));

        var advisory = Assert.Single(await AdvisoriesOf(client));
        Assert.Equal(north.SiteId, Assert.Single(advisory.AffectedSites).SiteId);
        var traveller = Assert.Single(advisory.AffectedTravellers);
        Assert.Equal(trip.TripId, traveller.TripId);
        Assert.Equal("E-77", traveller.TravellerReference);
    }

    [Fact]
    public async Task PolygonZoneChange_UsesCoordinates_AndSkipsTripsThatHaveEnded()
    {
        var client = await _host.RegisterAsync("polygon-co");
        var inside = await AdvisoriesTestHost.AddSiteAsync(client, "Desert camp", "NE", "", 17.0, 8.0);
        await AdvisoriesTestHost.AddSiteAsync(client, "River office", "NE", "", 13.5, 2.1);
        await AdvisoriesTestHost.AddSiteAsync(client, "No coordinates", "NE");
        var now = DateTime.UtcNow;
        await client.CreateStaffTripAsync(new CreateStaffTripRequest
        {
            Trip = new StaffTrip
            {
                TravellerReference = "E-past",
                Legs = { new TripLeg { CountryCode = "NE", Location = new LatLng { Latitude = 17.1, Longitude = 8.1 }, FromTime = Timestamp.FromDateTime(now.AddDays(-10)), ToTime = Timestamp.FromDateTime(now.AddDays(-5)) } },
            },
        });
        var current = (await client.CreateStaffTripAsync(new CreateStaffTripRequest
        {
            Trip = new StaffTrip
            {
                TravellerReference = "E-now",
                Legs = { new TripLeg { CountryCode = "NE", Location = new LatLng { Latitude = 16.9, Longitude = 7.9 }, FromTime = Timestamp.FromDateTime(now.AddDays(-1)), ToTime = Timestamp.FromDateTime(now.AddDays(5)) } },
            },
        })).Trip;

        await _host.DeliverAsync(TestEvents.LevelChanged("NE", 1, ThreatLevel.DoNotTravel, ThreatLevel.Increased,
            TestEvents.Polygon("NE", (15, 5), (15, 12), (20, 12), (20, 5))));

        var advisory = Assert.Single(await AdvisoriesOf(client));
        Assert.Equal(inside.SiteId, Assert.Single(advisory.AffectedSites).SiteId);
        Assert.Equal(current.TripId, Assert.Single(advisory.AffectedTravellers).TripId);
    }

    [Fact]
    public async Task Subscription_ConcernsACompanyWithoutSites_AboveItsMinimumLevelOnly()
    {
        var client = await _host.RegisterAsync("subscriber-co");
        var sub = (await client.CreateSubscriptionAsync(new CreateSubscriptionRequest
        {
            Subscription = new Subscription { CountryCodes = { "TD" }, MinimumLevel = ThreatLevel.AvoidNonEssential },
        })).Subscription;

        await _host.DeliverAsync(TestEvents.LevelChanged("TD", 1, ThreatLevel.Increased, ThreatLevel.Normal, assessmentId: "TD"));
        Assert.Empty(await AdvisoriesOf(client));

        await _host.DeliverAsync(TestEvents.LevelChanged("TD", 2, ThreatLevel.AvoidNonEssential, ThreatLevel.Increased, assessmentId: "TD"));
        var advisory = Assert.Single(await AdvisoriesOf(client));
        Assert.Equal(sub.SubscriptionId, Assert.Single(advisory.MatchedSubscriptionIds));
        Assert.Empty(advisory.AffectedSites);
    }

    [Fact]
    public async Task RedeliveredEvent_CreatesOneAdvisory()
    {
        var client = await _host.RegisterAsync("redelivery-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "GN");
        var e = TestEvents.LevelChanged("GN", 1, ThreatLevel.AvoidNonEssential);

        await _host.DeliverAsync(e);
        await _host.DeliverAsync(e);
        await _host.DeliverAsync(e);

        Assert.Single(await AdvisoriesOf(client));
    }

    [Fact]
    public async Task StaleVersion_AfterANewerOne_CreatesNothing_AndDoesNotOverwrite()
    {
        var client = await _host.RegisterAsync("stale-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "SL");
        var v2 = TestEvents.LevelChanged("SL", 2, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential, assessmentId: "SL-stale");
        var v1 = TestEvents.LevelChanged("SL", 1, ThreatLevel.AvoidNonEssential, ThreatLevel.Increased, assessmentId: "SL-stale");

        await _host.DeliverAsync(v2);
        await _host.DeliverAsync(v1);
        var sameVersionNewId = TestEvents.LevelChanged("SL", 2, ThreatLevel.Normal, ThreatLevel.DoNotTravel, assessmentId: "SL-stale");
        await _host.DeliverAsync(sameVersionNewId);

        var advisory = Assert.Single(await AdvisoriesOf(client));
        Assert.Equal(ThreatLevel.DoNotTravel, advisory.NewLevel);
        Assert.Equal(2, advisory.SubjectVersion);
    }

    [Fact]
    public async Task EachNewVersion_GivesTheCompanyANextSequence()
    {
        var client = await _host.RegisterAsync("sequence-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "LR");
        await _host.DeliverAsync(TestEvents.LevelChanged("LR", 1, ThreatLevel.Increased, assessmentId: "LR-seq"));
        await _host.DeliverAsync(TestEvents.LevelChanged("LR", 2, ThreatLevel.AvoidNonEssential, ThreatLevel.Increased, assessmentId: "LR-seq"));

        var list = await AdvisoriesOf(client);
        Assert.Equal([2L, 1L], list.Select(a => a.Sequence));
    }

    [Fact]
    public async Task CrisisDeclared_AndConsularAlert_LinkTheAlertToTheLevelChangeWave()
    {
        var client = await _host.RegisterAsync("crisis-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "CM");
        var change = TestEvents.LevelChanged("CM", 1, ThreatLevel.DoNotTravel, ThreatLevel.Increased);
        await _host.DeliverAsync(change);
        await _host.DeliverAsync(Topics.CrisisDeclared, new CrisisDeclared
        {
            EventId = Guid.NewGuid().ToString(), CrisisId = "crisis-cm-1", Version = 1, Kind = CrisisKind.Unrest, Area = new Area { CountryCode = "CM" },
            Title = new LocalizedText { Fr = "Émeutes", En = "Riots" }, CountryLevel = ThreatLevel.DoNotTravel,
            StartTime = Timestamp.FromDateTime(DateTime.UtcNow), DeclaredAt = Timestamp.FromDateTime(DateTime.UtcNow),
        });
        await _host.DeliverAsync(Topics.ConsularAlertIssued, new ConsularAlertIssued
        {
            EventId = Guid.NewGuid().ToString(), AlertId = "alert-cm-1", Version = 1, MessageType = AlertMessageType.Alert, PostId = "post-yaounde",
            Area = new Area { CountryCode = "CM" }, Level = ThreatLevel.DoNotTravel, Headline = new LocalizedText { Fr = "Restez chez vous", En = "Stay home" },
            Body = new LocalizedText { Fr = "Couvre-feu.", En = "Curfew." }, IssuedAt = Timestamp.FromDateTime(DateTime.UtcNow), Priority = Priority.Urgent,
            CauseEventId = change.EventId,
        });

        var list = await AdvisoriesOf(client);
        Assert.Equal([AdvisoryCause.ConsularAlert, AdvisoryCause.CrisisDeclared, AdvisoryCause.LevelChanged], list.Select(a => a.Cause));
        Assert.Equal("crisis-cm-1", list[1].CrisisId);
        Assert.Contains("alert-cm-1", list[2].RelatedAlertIds);
    }
}
