using System.Net;
using System.Net.Http.Headers;
using System.Xml.Linq;
using Dcis.Crisis.Advisories.Tests.Cap;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Security;

namespace Dcis.Crisis.Advisories.Tests.Http;

public class FeedTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private static readonly XNamespace Atom = "http://www.w3.org/2005/Atom";
    private readonly AdvisoriesTestHost _host = fixture.Host;

    private async Task<HttpResponseMessage> GetAsync(string path, string? token, string? acceptLanguage = null)
    {
        using var http = new HttpClient { BaseAddress = _host.Host.HttpAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (acceptLanguage is not null)
        {
            request.Headers.AcceptLanguage.ParseAdd(acceptLanguage);
        }

        return await http.SendAsync(request);
    }

    /// <summary>A company with a site in Haiti and the advisory of Haiti going from 3 to 4; returns its token.</summary>
    private async Task<string> CompanyWithOneAdvisoryAsync(string companyId)
    {
        var client = await _host.RegisterAsync(companyId);
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "HT");
        await _host.DeliverAsync(TestEvents.LevelChanged("HT", 1, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential));
        return _host.CompanyToken(companyId);
    }

    [Fact]
    public async Task AtomFeed_ListsTheCompanysAdvisories_LinkingValidCap()
    {
        var token = await CompanyWithOneAdvisoryAsync("feed-co");

        using var feed = await GetAsync("/v1/companies/feed-co/advisories.atom", token);
        Assert.Equal(HttpStatusCode.OK, feed.StatusCode);
        Assert.Equal("application/atom+xml", feed.Content.Headers.ContentType!.MediaType);
        var entry = Assert.Single(XDocument.Parse(await feed.Content.ReadAsStringAsync()).Descendants(Atom + "entry"));
        var capLink = entry.Elements(Atom + "link").Single(l => (string?)l.Attribute("type") == "application/cap+xml").Attribute("href")!.Value;

        using var cap = await GetAsync(capLink, token);
        Assert.Equal(HttpStatusCode.OK, cap.StatusCode);
        CapDocumentTests.AssertValid(await cap.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AtomFeed_Speaks_French_When_Asked_Or_Preferred_And_English_Otherwise()
    {
        var token = await CompanyWithOneAdvisoryAsync("feed-fr-co");

        async Task<XElement> FeedAsync(string query, string? acceptLanguage)
        {
            using var response = await GetAsync("/v1/companies/feed-fr-co/advisories.atom" + query, token, acceptLanguage);
            return XDocument.Parse(await response.Content.ReadAsStringAsync()).Root!;
        }

        static (string? Lang, string Title, string Summary) Read(XElement feed)
        {
            var entry = Assert.Single(feed.Elements(Atom + "entry"));
            return ((string?)feed.Attribute(XNamespace.Xml + "lang"), entry.Element(Atom + "title")!.Value, entry.Element(Atom + "summary")!.Value);
        }

        var asked = Read(await FeedAsync("?lang=fr", null));
        var preferred = Read(await FeedAsync(string.Empty, "fr-FR,fr;q=0.9,en;q=0.5"));
        var english = Read(await FeedAsync(string.Empty, null));
        var overridden = Read(await FeedAsync("?lang=en", "fr-FR"));

        Assert.Equal("fr", asked.Lang);
        Assert.Contains("niveau 3 → 4", asked.Title, StringComparison.Ordinal);
        Assert.Contains("Manifestations violentes.", asked.Summary, StringComparison.Ordinal);
        Assert.Equal(asked, preferred);
        Assert.Equal("en", english.Lang);
        Assert.Contains("level 3 → 4", english.Title, StringComparison.Ordinal);
        Assert.Contains("Violent demonstrations.", english.Summary, StringComparison.Ordinal);
        Assert.Equal(english, overridden);
    }

    [Fact]
    public async Task AtomFeed_RefusesOtherCompanies_Viewers_AndAnonymousCallers()
    {
        await _host.RegisterAsync("feed-owner-co");
        using var other = await GetAsync("/v1/companies/feed-owner-co/advisories.atom", _host.CompanyToken("feed-other-co"));
        using var viewer = await GetAsync("/v1/companies/feed-owner-co/advisories.atom", _host.Host.Token(Roles.CrisisCellViewer));
        using var anonymous = await GetAsync("/v1/companies/feed-owner-co/advisories.atom", null);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, viewer.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task GetAdvisoryCap_OverGrpc_IsValidCap()
    {
        var client = await _host.RegisterAsync("cap-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Managua office", "NI", "", 12.13, -86.25);
        await _host.DeliverAsync(TestEvents.LevelChanged("NI", 1, ThreatLevel.AvoidNonEssential,
            area: new Area { CountryCode = "NI", Circle = new Circle { Center = new LatLng { Latitude = 12.1, Longitude = -86.3 }, RadiusMeters = 50_000 } }));
        var advisory = (await client.ListAdvisoriesAsync(new ListAdvisoriesRequest())).Advisories.Single();

        var xml = (await client.GetAdvisoryCapAsync(new GetAdvisoryCapRequest { AdvisoryId = advisory.AdvisoryId })).CapXml;
        CapDocumentTests.AssertValid(xml);
        Assert.Contains(advisory.AdvisoryId, xml, StringComparison.Ordinal);
    }
}
