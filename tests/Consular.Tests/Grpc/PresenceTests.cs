using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Grpc.Core;

namespace Dcis.Crisis.Consular.Tests.Grpc;

public sealed class PresenceTests : IAsyncLifetime
{
    private readonly ConsularTestHost _t = new();

    public Task InitializeAsync() => _t.InitializeAsync();

    public Task DisposeAsync() => _t.DisposeAsync();

    private async Task<List<PresentPerson>> StreamAsync(string post, Area area, int arriving = 0)
    {
        var call = _t.Officer(post).StreamPresence(new StreamPresenceRequest { Area = area, ArrivingWithinDays = arriving, PageSize = 2 });
        var people = new List<PresentPerson>();
        await foreach (var batch in call.ResponseStream.ReadAllAsync())
        {
            Assert.InRange(batch.People.Count, 1, 2);
            people.AddRange(batch.People);
        }

        return people;
    }

    [Fact]
    public async Task Presence_ByCountry_ListsResidentsAndTravellersOnce_InBatches()
    {
        var resident = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var both = ConsularTestHost.Resident("ML");
        both.Trips.Add(new TripLeg { CountryCode = "ML", FromDate = ConsularTestHost.Date(-1), ToDate = ConsularTestHost.Date(3) });
        var bothRegistered = await _t.RegisterAsync("post-bamako", both);
        var traveller = await _t.RegisterAsync("post-bamako", ConsularTestHost.Traveller("ML", -2, 2));
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Traveller("ML", -20, -5));
        await _t.RegisterAsync("post-niamey", ConsularTestHost.Resident("NE"));

        var people = await StreamAsync("post-bamako", new Area { CountryCode = "ML" });

        Assert.Equal(
            new[] { resident.RegistrantId, bothRegistered.RegistrantId, traveller.RegistrantId }.Order(StringComparer.Ordinal),
            people.Select(p => p.RegistrantId));
        Assert.Equal(RegistrantKind.Both, people.Single(p => p.RegistrantId == bothRegistered.RegistrantId).Presence);
    }

    [Fact]
    public async Task Presence_ByZone_OnlyPeopleInTheSubdivision_AndCountsGoToTheZonePost()
    {
        var karachi = await _t.RegisterAsync("post-karachi", ConsularTestHost.Resident("PK", "PK-SD"));
        await _t.RegisterAsync("post-islamabad", ConsularTestHost.Resident("PK", "PK-IS"));

        var people = await StreamAsync("post-karachi", new Area { CountryCode = "PK", SubdivisionCodes = { "PK-SD" } });
        var counts = await _t.As("crisis-cell-viewer").CountPresenceAsync(new CountPresenceRequest { Area = new Area { CountryCode = "PK" } });

        Assert.Equal(karachi.RegistrantId, Assert.Single(people).RegistrantId);
        Assert.Equal(1, counts.Posts.Single(p => p.PostId == "post-karachi").Present);
        Assert.Equal(1, counts.Posts.Single(p => p.PostId == "post-islamabad").Present);
    }

    [Fact]
    public async Task Presence_ByPolygonAndCircle_UsesCoordinates()
    {
        var inside = await _t.RegisterAsync("post-katmandou", ConsularTestHost.Resident("NP", at: new LatLng { Latitude = 27.70, Longitude = 85.32 }));
        await _t.RegisterAsync("post-katmandou", ConsularTestHost.Resident("NP", at: new LatLng { Latitude = 28.20, Longitude = 83.98 }));
        var square = new Polygon
        {
            Vertices =
            {
                new LatLng { Latitude = 27.6, Longitude = 85.2 }, new LatLng { Latitude = 27.6, Longitude = 85.5 },
                new LatLng { Latitude = 27.8, Longitude = 85.5 }, new LatLng { Latitude = 27.8, Longitude = 85.2 },
            },
        };

        var byPolygon = await StreamAsync("post-katmandou", new Area { CountryCode = "NP", Polygon = square });
        var byCircle = await StreamAsync("post-katmandou", new Area
        {
            CountryCode = "NP",
            Circle = new Circle { Center = new LatLng { Latitude = 27.71, Longitude = 85.31 }, RadiusMeters = 5000 },
        });

        Assert.Equal(inside.RegistrantId, Assert.Single(byPolygon).RegistrantId);
        Assert.Equal(inside.RegistrantId, Assert.Single(byCircle).RegistrantId);
    }

    [Fact]
    public async Task Presence_ArrivalWindow_AddsPeopleArrivingWithinNDays()
    {
        var soon = await _t.RegisterAsync("post-dakar", ConsularTestHost.Traveller("SN", 3, 10));
        await _t.RegisterAsync("post-dakar", ConsularTestHost.Traveller("SN", 20, 25));

        var now = await StreamAsync("post-dakar", new Area { CountryCode = "SN" });
        var withArrivals = await StreamAsync("post-dakar", new Area { CountryCode = "SN" }, arriving: 7);

        Assert.Empty(now);
        var person = Assert.Single(withArrivals);
        Assert.Equal(soon.RegistrantId, person.RegistrantId);
        Assert.True(person.Arriving);
    }

    [Fact]
    public async Task StreamPresence_Refuses_AreaOutsideTheOfficersJurisdiction()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => StreamAsync("post-niamey", new Area { CountryCode = "ML" }));
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task StreamPresence_Refuses_ZonePostAskingForTheWholeCountry()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => StreamAsync("post-karachi", new Area { CountryCode = "PK" }));
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }
}
