using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Security;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Dcis.Crisis.Advisories.Tests.Grpc;

public class CompanyDataTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private readonly AdvisoriesTestHost _host = fixture.Host;

    [Fact]
    public async Task Company_RegistersItself_AndManagesSitesTripsSubscriptions()
    {
        var client = await _host.RegisterAsync("crud-co");
        var company = (await client.GetCompanyAsync(new GetCompanyRequest())).Company;
        Assert.Equal("crud-co", company.CompanyId);
        Assert.Equal("c-1", company.Contacts.Single().ContactId);

        var site = await AdvisoriesTestHost.AddSiteAsync(client, "Bamako office", "ML", "ML-BKO", 12.64, -8.0);
        var trip = (await client.CreateStaffTripAsync(new CreateStaffTripRequest
        {
            Trip = new StaffTrip
            {
                TravellerReference = "E-1",
                Legs = { new TripLeg { CountryCode = "NE", FromTime = Timestamp.FromDateTime(DateTime.UtcNow), ToTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(3)) } },
            },
        })).Trip;
        var sub = (await client.CreateSubscriptionAsync(new CreateSubscriptionRequest
        {
            Subscription = new Subscription { CountryCodes = { "BF" }, MinimumLevel = ThreatLevel.AvoidNonEssential },
        })).Subscription;

        Assert.Equal(site.SiteId, (await client.ListSitesAsync(new ListSitesRequest())).Sites.Single().SiteId);
        Assert.Equal(trip.TripId, (await client.ListStaffTripsAsync(new ListStaffTripsRequest())).Trips.Single().TripId);
        Assert.Equal(sub.SubscriptionId, (await client.ListSubscriptionsAsync(new ListSubscriptionsRequest())).Subscriptions.Single().SubscriptionId);

        await client.DeleteSiteAsync(new DeleteSiteRequest { SiteId = site.SiteId });
        Assert.Empty((await client.ListSitesAsync(new ListSitesRequest())).Sites);
    }

    [Fact]
    public async Task ListSites_Pages_WithNextPageToken()
    {
        var client = await _host.RegisterAsync("paging-co");
        for (var i = 0; i < 5; i++)
        {
            await AdvisoriesTestHost.AddSiteAsync(client, $"site {i}", "SN");
        }

        var first = await client.ListSitesAsync(new ListSitesRequest { PageSize = 3 });
        var second = await client.ListSitesAsync(new ListSitesRequest { PageSize = 3, PageToken = first.NextPageToken });
        Assert.Equal(3, first.Sites.Count);
        Assert.Equal(2, second.Sites.Count);
        Assert.Empty(second.NextPageToken);
        Assert.Empty(first.Sites.Select(s => s.SiteId).Intersect(second.Sites.Select(s => s.SiteId)));
    }

    [Fact]
    public async Task CreateSite_WithBadFields_IsInvalidArgument_NamingThem_AndStoresNothing()
    {
        var client = await _host.RegisterAsync("bad-site-co");
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.CreateSiteAsync(new CreateSiteRequest
        {
            Site = new Site { Name = "", CountryCode = "mali", SubdivisionCode = "NE-8", Location = new LatLng { Latitude = 91 } },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var fields = ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field).ToList();
        Assert.Contains("site.name", fields);
        Assert.Contains("site.country_code", fields);
        Assert.Contains("site.location.latitude", fields);
        Assert.Empty((await client.ListSitesAsync(new ListSitesRequest())).Sites);
    }

    [Fact]
    public async Task CreateStaffTrip_WithLegEndingBeforeItStarts_IsInvalidArgument()
    {
        var client = await _host.RegisterAsync("bad-trip-co");
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.CreateStaffTripAsync(new CreateStaffTripRequest
        {
            Trip = new StaffTrip
            {
                TravellerReference = "E-2",
                Legs = { new TripLeg { CountryCode = "NE", FromTime = Timestamp.FromDateTime(DateTime.UtcNow), ToTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(-1)) } },
            },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations, v => v.Field == "trip.legs[0].to_time");
    }

    [Fact]
    public async Task CreateCompany_ForAnotherCompanyId_IsDenied_ButAnAnalystMayOnboardIt()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _host.Company("self-co").CreateCompanyAsync(new CreateCompanyRequest
        {
            Company = new Company { CompanyId = "other-co", Name = "Other" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);

        var analyst = _host.Client(_host.Host.Token(Roles.Analyst));
        var created = await analyst.CreateCompanyAsync(new CreateCompanyRequest { Company = new Company { CompanyId = "onboarded-co", Name = "Onboarded" } });
        Assert.Equal("onboarded-co", created.Company.CompanyId);
        Assert.Equal("Onboarded", (await _host.Company("onboarded-co").GetCompanyAsync(new GetCompanyRequest())).Company.Name);
    }

    [Fact]
    public async Task CreateCompany_Twice_IsAlreadyExists()
    {
        await _host.RegisterAsync("twice-co");
        var ex = await Assert.ThrowsAsync<RpcException>(() => _host.RegisterAsync("twice-co"));
        Assert.Equal(StatusCode.AlreadyExists, ex.StatusCode);
    }

    [Fact]
    public async Task SiteOfAnUnregisteredCompany_IsNotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => AdvisoriesTestHost.AddSiteAsync(_host.Company("ghost-co"), "x", "ML"));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }
}
