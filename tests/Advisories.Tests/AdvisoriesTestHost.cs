using System.Text;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Advisories.Tests;

/// <summary>The advisories service on real Kestrel, with helpers to act as companies and as the sidecar.</summary>
internal sealed class AdvisoriesTestHost : IAsyncDisposable
{
    private readonly HttpClient _http = new();

    private AdvisoriesTestHost(ServiceHost host) => Host = host;

    public ServiceHost Host { get; }

    public IServiceProvider Services => Host.App.Services;

    public static async Task<AdvisoriesTestHost> StartAsync(IReadOnlyDictionary<string, string>? settings = null, string? dataDir = null, int? httpPort = null)
    {
        var all = new Dictionary<string, string>
        {
            ["Advisories:ChaseInBackground"] = "false",
            ["Advisories:HeartbeatInterval"] = "00:00:00.300",
            ["Advisories:WebhookBaseDelay"] = "00:00:00.050",
            ["Advisories:WebhookMaxDelay"] = "00:00:00.400",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            all[k] = v;
        }

        return new AdvisoriesTestHost(await ServiceHost.StartAsync(AdvisoriesApp.Create, all, dataDir, httpPort));
    }

    public string CompanyToken(string companyId) => Host.Token(Roles.CompanySecurity, "mgr-" + companyId, companyId: companyId);

    public AdvisoriesService.AdvisoriesServiceClient Client(string? token) => new(Host.Channel(token));

    public AdvisoriesService.AdvisoriesServiceClient Company(string companyId) => Client(CompanyToken(companyId));

    /// <summary>Registers a company (self-service) with one security contact.</summary>
    public async Task<AdvisoriesService.AdvisoriesServiceClient> RegisterAsync(string companyId)
    {
        var client = Company(companyId);
        await client.CreateCompanyAsync(new CreateCompanyRequest
        {
            Company = new Company
            {
                Name = "Company " + companyId,
                Contacts = { new SecurityContact { DisplayName = "Security desk", Email = $"security@{companyId}.example", Language = Language.En } },
            },
        });
        return client;
    }

    public static async Task<Site> AddSiteAsync(AdvisoriesService.AdvisoriesServiceClient client, string name, string country, string subdivision = "",
        double? lat = null, double? lon = null)
    {
        var site = new Site { Name = name, Reference = name.ToUpperInvariant(), CountryCode = country, SubdivisionCode = subdivision, City = "City", ExpatriateHeadcount = 3, LocalHeadcount = 10 };
        if (lat is { } la && lon is { } lo)
        {
            site.Location = new LatLng { Latitude = la, Longitude = lo };
        }

        return (await client.CreateSiteAsync(new CreateSiteRequest { Site = site })).Site;
    }

    /// <summary>Delivers an event the way the sidecar does: a POST of its JSON to the subscription route.</summary>
    public async Task DeliverAsync(string topic, IMessage message)
    {
        using var content = new StringContent(ProtoJson.Format(message), Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri(Host.HttpAddress, $"events/{topic}"), content);
        response.EnsureSuccessStatusCode();
    }

    public Task DeliverAsync(ThreatLevelChanged e) => DeliverAsync(Topics.ThreatLevelChanged, e);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Host.DisposeAsync();
    }
}

/// <summary>Events as threat-levels and consular publish them.</summary>
internal static class TestEvents
{
    public static ThreatLevelChanged LevelChanged(string country, long version, ThreatLevel level, ThreatLevel previous = ThreatLevel.Normal,
        Area? area = null, string? assessmentId = null)
    {
        area ??= new Area { CountryCode = country };
        return new ThreatLevelChanged
        {
            EventId = Guid.NewGuid().ToString(),
            AssessmentId = assessmentId ?? country + "/" + Guid.NewGuid().ToString("N"),
            Version = version,
            Sequence = version,
            Area = area,
            PreviousLevel = previous,
            NewLevel = level,
            Categories = { new CategoryRating { Category = ThreatCategory.CivilUnrest, Severity = Severity.High } },
            CategoriesAdded = { ThreatCategory.CivilUnrest },
            Summary = new LocalizedText { Fr = "Manifestations violentes.", En = "Violent demonstrations." },
            Advice = new LocalizedText { Fr = "Éviter les rassemblements.", En = "Avoid gatherings." },
            EffectiveTime = Timestamp.FromDateTime(DateTime.UtcNow),
            Reason = "Coup d'état",
            Author = "analyst-1",
            ApprovalMode = ApprovalMode.Emergency,
            ChangeId = Guid.NewGuid().ToString(),
            ChangedAt = Timestamp.FromDateTime(DateTime.UtcNow),
            CountryLevel = level,
        };
    }

    public static Area Polygon(string country, params (double Lat, double Lon)[] vertices) =>
        new() { CountryCode = country, ZoneName = "Zone", Polygon = new Dcis.Crisis.Common.V1.Polygon { Vertices = { vertices.Select(v => new LatLng { Latitude = v.Lat, Longitude = v.Lon }) } } };
}

/// <summary>One advisories host shared by the tests of a class (each test uses its own companies).</summary>
public sealed class HostFixture : IAsyncLifetime
{
    internal AdvisoriesTestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await AdvisoriesTestHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
