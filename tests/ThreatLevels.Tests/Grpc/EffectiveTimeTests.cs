using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.Testing;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

/// <summary>
/// effective_time later than the change: the change is accepted, recorded and published at once (the
/// event carries the effective time), and effective-level queries return it only from that time.
/// Retiring a zone (level UNSPECIFIED) returns its places to the country's level. Through a real
/// channel, with the service's clock moved by hand.
/// </summary>
public sealed class EffectiveTimeTests : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly (double, double)[] NorthMali = [(15.0, -6.0), (15.0, 4.5), (25.0, 4.5), (25.0, -6.0)];
    private readonly TempDirectory _data = new();
    private readonly List<GrpcChannel> _channels = [];
    private ServiceHost _host = null!;

    public ManualClock Clock { get; } = new(Start);

    public async Task InitializeAsync() => _host = await StartAsync();

    private Task<ServiceHost> StartAsync() =>
        ServiceHost.StartAsync(args => ThreatLevelsApp.Create(args, s => s.AddSingleton<TimeProvider>(Clock)), dataDir: _data.Path);

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        await _host.DisposeAsync();
    }

    public void Dispose() => _data.Dispose();

    private ThreatLevelsService.ThreatLevelsServiceClient Analyst()
    {
        var channel = _host.Channel(_host.Token("analyst", "analyst-1"));
        _channels.Add(channel);
        return new ThreatLevelsService.ThreatLevelsServiceClient(channel);
    }

    private static Timestamp At(TimeSpan fromStart) => Timestamp.FromDateTimeOffset(Start + fromStart);

    private static GetEffectiveLevelRequest Point(string country, double lat, double lng) =>
        new() { Point = new PointTarget { CountryCode = country, Location = new LatLng { Latitude = lat, Longitude = lng } } };

    private static async Task<ThreatLevel> CountryLevelAsync(ThreatLevelsService.ThreatLevelsServiceClient client, string country) =>
        (await client.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { CountryCode = country })).Level;

    private async Task<List<ThreatLevelChanged>> EventsAsync(string assessmentId)
    {
        var db = _host.App.Services.GetRequiredService<SqliteDatabase>();
        await using var connection = await db.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT data FROM outbox WHERE topic = $t ORDER BY seq", null, ("$t", Topics.ThreatLevelChanged));
        var events = new List<ThreatLevelChanged>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add(ProtoJson.Parse<ThreatLevelChanged>(reader.GetString(0)));
        }

        return [.. events.Where(e => e.AssessmentId == assessmentId)];
    }

    [Fact]
    public async Task A_Change_Effective_Later_Is_Published_At_Once_But_Read_As_Effective_Only_From_Its_Time()
    {
        var analyst = Analyst();
        await Build.ApplyAsync(analyst, Build.Country("ML", ThreatLevel.Increased));
        var later = Build.Country("ML", ThreatLevel.AvoidNonEssential, expectedVersion: 1, reason: "élections");
        later.EffectiveTime = At(TimeSpan.FromHours(2));

        var scheduled = await Build.ApplyAsync(analyst, later);

        Assert.Equal(2, scheduled.Version);
        Assert.Equal(later.EffectiveTime, scheduled.EffectiveTime);
        Assert.Equal(ThreatLevel.Increased, await CountryLevelAsync(analyst, "ML"));
        var before = await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { CountryCode = "ML" });
        Assert.Equal(1, before.Assessment.Version);
        var record = await analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "ML" });
        Assert.Equal(2, record.Assessment.Version);
        var published = await EventsAsync("ML");
        Assert.Equal(2, published.Count);
        Assert.Equal(ThreatLevel.AvoidNonEssential, published[1].NewLevel);
        Assert.Equal(ThreatLevel.AvoidNonEssential, published[1].CountryLevel);
        Assert.Equal(later.EffectiveTime, published[1].EffectiveTime);

        Clock.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        Assert.Equal(ThreatLevel.Increased, await CountryLevelAsync(analyst, "ML"));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ThreatLevel.AvoidNonEssential, await CountryLevelAsync(analyst, "ML"));
    }

    [Fact]
    public async Task A_Later_Version_Effective_Now_Supersedes_A_Scheduled_One()
    {
        var analyst = Analyst();
        await Build.ApplyAsync(analyst, Build.Country("NE", ThreatLevel.Increased));
        var scheduled = Build.Country("NE", ThreatLevel.AvoidNonEssential, expectedVersion: 1);
        scheduled.EffectiveTime = At(TimeSpan.FromHours(1));
        await Build.ApplyAsync(analyst, scheduled);

        await Build.ApplyAsync(analyst, Build.Country("NE", ThreatLevel.Normal, expectedVersion: 2, reason: "annulé"));

        Assert.Equal(ThreatLevel.Normal, await CountryLevelAsync(analyst, "NE"));
        Clock.Advance(TimeSpan.FromHours(3));
        Assert.Equal(ThreatLevel.Normal, await CountryLevelAsync(analyst, "NE"));
    }

    [Fact]
    public async Task A_Scheduled_Zone_Applies_To_Points_From_Its_Time_Also_After_A_Restart()
    {
        var analyst = Analyst();
        await Build.ApplyAsync(analyst, Build.Country("TD", ThreatLevel.Increased));
        var zone = Build.PolygonZone("TD", ThreatLevel.AvoidNonEssential, (12, 14), (12, 20), (20, 20), (20, 14));
        zone.EffectiveTime = At(TimeSpan.FromHours(1));
        var created = await Build.ApplyAsync(analyst, zone);
        var inside = Point("TD", 15, 17);

        Assert.Equal(ThreatLevel.Increased, (await analyst.GetEffectiveLevelAsync(inside)).Level);
        Assert.Empty((await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { CountryCode = "TD" })).Zones);
        var byId = await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { AssessmentId = created.AssessmentId });
        Assert.Equal(LevelSource.Country, byId.Source);

        await _host.DisposeAsync();
        _host = await StartAsync();
        analyst = Analyst();
        Assert.Equal(ThreatLevel.Increased, (await analyst.GetEffectiveLevelAsync(inside)).Level);

        Clock.Advance(TimeSpan.FromHours(1));
        var after = await analyst.GetEffectiveLevelAsync(inside);
        Assert.Equal(ThreatLevel.AvoidNonEssential, after.Level);
        Assert.Equal(LevelSource.Zone, after.Source);
        Assert.Equal(created.AssessmentId, after.Assessment.AssessmentId);
    }

    [Fact]
    public async Task A_Scheduled_Country_Change_Survives_A_Restart_With_The_Level_Before_It()
    {
        var analyst = Analyst();
        await Build.ApplyAsync(analyst, Build.Country("SN", ThreatLevel.Normal));
        await Build.ApplyAsync(analyst, Build.Country("SN", ThreatLevel.Increased, expectedVersion: 1));
        var later = Build.Country("SN", ThreatLevel.AvoidNonEssential, expectedVersion: 2);
        later.EffectiveTime = At(TimeSpan.FromDays(1));
        await Build.ApplyAsync(analyst, later);

        await _host.DisposeAsync();
        _host = await StartAsync();
        analyst = Analyst();

        Assert.Equal(ThreatLevel.Increased, await CountryLevelAsync(analyst, "SN"));
        Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(ThreatLevel.AvoidNonEssential, await CountryLevelAsync(analyst, "SN"));
    }

    [Fact]
    public async Task Retiring_A_Zone_Returns_Its_Places_To_The_Country_Level()
    {
        var analyst = Analyst();
        await Build.ApplyAsync(analyst, Build.Country("BF", ThreatLevel.Increased));
        var draft = Build.PolygonZone("BF", ThreatLevel.AvoidNonEssential, (12, -4), (12, 0), (15, 0), (15, -4));
        draft.Categories.Add(new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.High });
        var zone = await Build.ApplyAsync(analyst, draft);
        var inside = Point("BF", 13, -2);
        Assert.Equal(ThreatLevel.AvoidNonEssential, (await analyst.GetEffectiveLevelAsync(inside)).Level);
        var retire = new AssessmentDraft
        {
            AssessmentId = zone.AssessmentId, Area = new Area { CountryCode = "BF" }, Level = ThreatLevel.Unspecified,
            ExpectedVersion = zone.Version, Reason = "situation rétablie",
        };

        var retired = await Build.ApplyAsync(analyst, retire);

        Assert.Equal(ThreatLevel.Unspecified, retired.Level);
        Assert.Equal(2, retired.Version);
        Assert.NotNull(retired.Area.Polygon);
        var point = await analyst.GetEffectiveLevelAsync(inside);
        Assert.Equal(ThreatLevel.Increased, point.Level);
        Assert.Equal(LevelSource.Country, point.Source);
        Assert.Empty((await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { CountryCode = "BF" })).Zones);
        var listed = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { CountryCode = "BF" });
        Assert.Equal(["BF"], listed.Assessments.Select(a => a.AssessmentId));
        var history = await analyst.GetHistoryAsync(new GetHistoryRequest { AssessmentId = zone.AssessmentId });
        Assert.Equal([2L, 1L], history.Changes.Select(c => c.Version));
        var published = await EventsAsync(zone.AssessmentId);
        Assert.Equal(ThreatLevel.AvoidNonEssential, published[^1].PreviousLevel);
        Assert.Equal(ThreatLevel.Increased, published[^1].NewLevel);
        Assert.Equal([ThreatCategory.Terrorism], published[^1].CategoriesRemoved);
        Assert.Equal([false, true], published.Select(e => e.ZoneRetired));
        Assert.Empty(retired.Categories);
    }

    [Fact]
    public async Task A_Scheduled_Retirement_Takes_Effect_At_Its_Time()
    {
        var analyst = Analyst();
        await Build.ApplyAsync(analyst, Build.Country("MR", ThreatLevel.Increased));
        var zone = await Build.ApplyAsync(analyst, Build.PolygonZone("MR", ThreatLevel.AvoidNonEssential, (16, -12), (16, -8), (20, -8), (20, -12)));
        var inside = Point("MR", 18, -10);

        await Build.ApplyAsync(analyst, new AssessmentDraft
        {
            AssessmentId = zone.AssessmentId, Area = new Area { CountryCode = "MR" }, Level = ThreatLevel.Unspecified,
            ExpectedVersion = 1, Reason = "fin de l'opération", EffectiveTime = At(TimeSpan.FromHours(6)),
        });

        Assert.Equal(ThreatLevel.AvoidNonEssential, (await analyst.GetEffectiveLevelAsync(inside)).Level);
        Clock.Advance(TimeSpan.FromHours(6));
        Assert.Equal(ThreatLevel.Increased, (await analyst.GetEffectiveLevelAsync(inside)).Level);
    }

    [Fact]
    public async Task Retiring_A_Country_An_Unknown_Zone_Or_A_Retired_Zone_Is_Refused_And_Changes_Nothing()
    {
        var analyst = Analyst();
        await Build.ApplyAsync(analyst, Build.Country("GN", ThreatLevel.Increased));
        var zone = await Build.ApplyAsync(analyst, Build.PolygonZone("GN", ThreatLevel.AvoidNonEssential, (9, -13), (9, -11), (11, -11), (11, -13)));
        AssessmentDraft Retire(string id, long version) => new()
        {
            AssessmentId = id, Area = new Area { CountryCode = "GN" }, Level = ThreatLevel.Unspecified, ExpectedVersion = version, Reason = "retrait",
        };

        var country = await Build.FailsAsync(StatusCode.InvalidArgument, () => analyst.SetAssessmentAsync(Build.Set(Retire("GN", 1))).ResponseAsync);
        var noId = await Build.FailsAsync(StatusCode.InvalidArgument, () => analyst.SetAssessmentAsync(Build.Set(Retire(string.Empty, 0))).ResponseAsync);
        await Build.FailsAsync(StatusCode.NotFound, () => analyst.SetAssessmentAsync(Build.Set(Retire("GN/zone/00000000", 1))).ResponseAsync);
        await Build.ApplyAsync(analyst, Retire(zone.AssessmentId, 1));
        await Build.FailsAsync(StatusCode.FailedPrecondition, () => analyst.SetAssessmentAsync(Build.Set(Retire(zone.AssessmentId, 2))).ResponseAsync);

        Assert.Contains("assessment.level", Build.Fields(country));
        Assert.Contains("assessment.level", Build.Fields(noId));
        Assert.Equal(ThreatLevel.Increased, await CountryLevelAsync(analyst, "GN"));
        var history = await analyst.GetHistoryAsync(new GetHistoryRequest { CountryCode = "GN" });
        Assert.Equal(3, history.Changes.Count);
    }
}
