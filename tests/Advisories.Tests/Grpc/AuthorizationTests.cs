using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Security;
using Grpc.Core;

namespace Dcis.Crisis.Advisories.Tests.Grpc;

public class AuthorizationTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private const string Victim = "victim-co";
    private readonly AdvisoriesTestHost _host = fixture.Host;

    /// <summary>Every company-scoped RPC, aimed at the victim company.</summary>
    private static IEnumerable<(string Rpc, Func<AdvisoriesService.AdvisoriesServiceClient, Task> Call)> CompanyRpcs()
    {
        yield return ("GetCompany", c => c.GetCompanyAsync(new GetCompanyRequest { CompanyId = Victim }).ResponseAsync);
        yield return ("UpdateCompany", c => c.UpdateCompanyAsync(new UpdateCompanyRequest { Company = new Company { CompanyId = Victim, Name = "x" } }).ResponseAsync);
        yield return ("CreateSite", c => c.CreateSiteAsync(new CreateSiteRequest { CompanyId = Victim, Site = new Site { Name = "x", CountryCode = "ML" } }).ResponseAsync);
        yield return ("ListSites", c => c.ListSitesAsync(new ListSitesRequest { CompanyId = Victim }).ResponseAsync);
        yield return ("DeleteSite", c => c.DeleteSiteAsync(new DeleteSiteRequest { CompanyId = Victim, SiteId = "s" }).ResponseAsync);
        yield return ("CreateStaffTrip", c => c.CreateStaffTripAsync(new CreateStaffTripRequest { CompanyId = Victim, Trip = new StaffTrip() }).ResponseAsync);
        yield return ("ListStaffTrips", c => c.ListStaffTripsAsync(new ListStaffTripsRequest { CompanyId = Victim }).ResponseAsync);
        yield return ("DeleteStaffTrip", c => c.DeleteStaffTripAsync(new DeleteStaffTripRequest { CompanyId = Victim, TripId = "t" }).ResponseAsync);
        yield return ("CreateSubscription", c => c.CreateSubscriptionAsync(new CreateSubscriptionRequest { CompanyId = Victim, Subscription = new Subscription { CountryCodes = { "ML" } } }).ResponseAsync);
        yield return ("ListSubscriptions", c => c.ListSubscriptionsAsync(new ListSubscriptionsRequest { CompanyId = Victim }).ResponseAsync);
        yield return ("DeleteSubscription", c => c.DeleteSubscriptionAsync(new DeleteSubscriptionRequest { CompanyId = Victim, SubscriptionId = "s" }).ResponseAsync);
        yield return ("CreateWebhookEndpoint", c => c.CreateWebhookEndpointAsync(new CreateWebhookEndpointRequest { CompanyId = Victim, Url = "https://x.example/h" }).ResponseAsync);
        yield return ("ListWebhookEndpoints", c => c.ListWebhookEndpointsAsync(new ListWebhookEndpointsRequest { CompanyId = Victim }).ResponseAsync);
        yield return ("SetWebhookEndpointActive", c => c.SetWebhookEndpointActiveAsync(new SetWebhookEndpointActiveRequest { CompanyId = Victim, EndpointId = "e" }).ResponseAsync);
        yield return ("RotateWebhookSecret", c => c.RotateWebhookSecretAsync(new RotateWebhookSecretRequest { CompanyId = Victim, EndpointId = "e" }).ResponseAsync);
        yield return ("TestWebhookEndpoint", c => c.TestWebhookEndpointAsync(new TestWebhookEndpointRequest { CompanyId = Victim, EndpointId = "e" }).ResponseAsync);
        yield return ("ReplayAdvisory", c => c.ReplayAdvisoryAsync(new ReplayAdvisoryRequest { CompanyId = Victim, AdvisoryId = "a" }).ResponseAsync);
        yield return ("ListWebhookDeliveries", c => c.ListWebhookDeliveriesAsync(new ListWebhookDeliveriesRequest { CompanyId = Victim }).ResponseAsync);
        yield return ("ListAdvisories", c => c.ListAdvisoriesAsync(new ListAdvisoriesRequest { CompanyId = Victim }).ResponseAsync);
        yield return ("GetAdvisory", c => c.GetAdvisoryAsync(new GetAdvisoryRequest { CompanyId = Victim, AdvisoryId = "a" }).ResponseAsync);
        yield return ("AcknowledgeAdvisory", c => c.AcknowledgeAdvisoryAsync(new AcknowledgeAdvisoryRequest { CompanyId = Victim, AdvisoryId = "a" }).ResponseAsync);
        yield return ("GetAdvisoryCap", c => c.GetAdvisoryCapAsync(new GetAdvisoryCapRequest { CompanyId = Victim, AdvisoryId = "a" }).ResponseAsync);
        yield return ("WatchAdvisories", async c =>
        {
            using var call = c.WatchAdvisories(new WatchAdvisoriesRequest { CompanyId = Victim });
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
    }

    private static async Task AssertEveryRpcFailsWith(AdvisoriesService.AdvisoriesServiceClient client, StatusCode expected)
    {
        var wrong = new List<string>();
        foreach (var (rpc, call) in CompanyRpcs())
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => call(client));
            if (ex.StatusCode != expected)
            {
                wrong.Add($"{rpc}: {ex.StatusCode}");
            }
        }

        Assert.Empty(wrong);
    }

    [Fact]
    public async Task AnotherCompany_IsRefused_OnEveryCompanyRpc()
    {
        await _host.RegisterAsync(Victim);
        await _host.RegisterAsync("intruder-co");
        await AssertEveryRpcFailsWith(_host.Company("intruder-co"), StatusCode.PermissionDenied);
    }

    [Fact]
    public async Task CrisisCellViewer_IsRefused_OnEveryCompanyRpc_ButSeesCounts()
    {
        var viewer = _host.Client(_host.Host.Token(Roles.CrisisCellViewer));
        await AssertEveryRpcFailsWith(viewer, StatusCode.PermissionDenied);
        Assert.True((await viewer.GetAdvisoryCountsAsync(new GetAdvisoryCountsRequest())).Companies >= 0);
    }

    [Fact]
    public async Task Analyst_SeesNoCompanyData()
    {
        await AssertEveryRpcFailsWith(_host.Client(_host.Host.Token(Roles.Analyst)), StatusCode.PermissionDenied);
    }

    [Fact]
    public async Task NoToken_IsUnauthenticated_OnEveryRpc()
    {
        var anonymous = _host.Client(null);
        await AssertEveryRpcFailsWith(anonymous, StatusCode.Unauthenticated);
        var counts = await Assert.ThrowsAsync<RpcException>(() => anonymous.GetAdvisoryCountsAsync(new GetAdvisoryCountsRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, counts.StatusCode);
        var briefing = await Assert.ThrowsAsync<RpcException>(() => anonymous.GetBriefingAsync(new GetBriefingRequest { CountryCode = "ML" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, briefing.StatusCode);
        var create = await Assert.ThrowsAsync<RpcException>(() => anonymous.CreateCompanyAsync(new CreateCompanyRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, create.StatusCode);
    }

    [Fact]
    public async Task Company_CannotReadCounts_NorRegisterAsARegistrant()
    {
        var counts = await Assert.ThrowsAsync<RpcException>(() => _host.Company("counts-co").GetAdvisoryCountsAsync(new GetAdvisoryCountsRequest()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, counts.StatusCode);
        var registrant = _host.Client(_host.Host.Token(Roles.Registrant, registrantId: "r-1"));
        var create = await Assert.ThrowsAsync<RpcException>(() => registrant.CreateCompanyAsync(new CreateCompanyRequest { Company = new Company { CompanyId = "r-co", Name = "R" } }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, create.StatusCode);
    }

    [Fact]
    public async Task AnotherCompanysAdvisoryOrSiteId_IsNotFound_InTheCallersOwnScope()
    {
        var owner = await _host.RegisterAsync("owner-co");
        var site = await AdvisoriesTestHost.AddSiteAsync(owner, "Office", "TZ");
        await _host.DeliverAsync(TestEvents.LevelChanged("TZ", 1, ThreatLevel.AvoidNonEssential));
        var advisoryId = (await owner.ListAdvisoriesAsync(new ListAdvisoriesRequest())).Advisories.Single().AdvisoryId;
        var other = await _host.RegisterAsync("nosy-co");

        var calls = new Func<Task>[]
        {
            () => other.GetAdvisoryAsync(new GetAdvisoryRequest { AdvisoryId = advisoryId }).ResponseAsync,
            () => other.AcknowledgeAdvisoryAsync(new AcknowledgeAdvisoryRequest { AdvisoryId = advisoryId }).ResponseAsync,
            () => other.GetAdvisoryCapAsync(new GetAdvisoryCapRequest { AdvisoryId = advisoryId }).ResponseAsync,
            () => other.ReplayAdvisoryAsync(new ReplayAdvisoryRequest { AdvisoryId = advisoryId }).ResponseAsync,
            () => other.DeleteSiteAsync(new DeleteSiteRequest { SiteId = site.SiteId }).ResponseAsync,
        };
        foreach (var call in calls)
        {
            Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        Assert.Null((await owner.GetAdvisoryAsync(new GetAdvisoryRequest { AdvisoryId = advisoryId })).Advisory.AcknowledgedAt);
        Assert.Single((await owner.ListSitesAsync(new ListSitesRequest())).Sites);
    }
}
