using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Testing;
using Dcis.Crisis.ThreatLevels;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.Advisories.Tests.Briefing;

/// <summary>Briefings built from the real threat-levels service (same dev signing key, so the caller's token is forwarded).</summary>
public class BriefingTests
{
    private static readonly LatLng Nairobi = new() { Latitude = -1.29, Longitude = 36.82 };

    private static AssessmentDraft Draft(string id, Area area, ThreatLevel level, long expected) => new()
    {
        AssessmentId = id, Area = area, Level = level, ExpectedVersion = expected, Reason = "test",
        Summary = new LocalizedText { Fr = "Situation.", En = "Situation." }, Advice = new LocalizedText { Fr = "Prudence.", En = "Caution." },
        Categories = { new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.High } },
    };

    [Fact]
    public async Task Briefing_ReflectsLevelsAndZones_AndIsCurrentAfterTheLevelChangedEvent()
    {
        using var shared = new TempDirectory("dcis-briefing");
        await using var threatLevels = await ServiceHost.StartAsync(ThreatLevelsApp.Create, dataDir: shared.Path);
        var tl = new ThreatLevelsService.ThreatLevelsServiceClient(threatLevels.Channel(threatLevels.Token(Roles.Analyst, "analyst-1")));
        await using var advisories = await AdvisoriesTestHost.StartAsync(new Dictionary<string, string>
        {
            ["Services:ThreatLevels"] = threatLevels.GrpcAddress.ToString(),
        }, shared.Path);
        var company = advisories.Company("traveller-co");

        await tl.SetAssessmentAsync(new SetAssessmentRequest { Assessment = Draft(string.Empty, new Area { CountryCode = "KE" }, ThreatLevel.Increased, 0) });
        var zone = TestEvents.Polygon("KE", (-1.5, 36.6), (-1.5, 37.1), (-1.0, 37.1), (-1.0, 36.6));
        await tl.SetAssessmentAsync(new SetAssessmentRequest { Assessment = Draft(string.Empty, zone, ThreatLevel.AvoidNonEssential, 0) });

        var first = await company.GetBriefingAsync(new GetBriefingRequest { CountryCode = "KE", City = "Nairobi", Location = Nairobi });
        Assert.Equal(ThreatLevel.Increased, first.CountryLevel);
        Assert.Equal(ThreatLevel.AvoidNonEssential, first.EffectiveLevel);
        Assert.True(Assert.Single(first.Zones).ContainsDestination);
        Assert.Contains(first.RecommendedMeasures, m => m.En.Contains("non-essential travel", StringComparison.Ordinal));
        Assert.Equal(ThreatCategory.Terrorism, Assert.Single(first.Categories).Category);

        var raised = await tl.SetAssessmentAsync(new SetAssessmentRequest { Assessment = Draft("KE", new Area { CountryCode = "KE" }, ThreatLevel.AvoidNonEssential, 1) });
        Assert.Equal(ChangeOutcome.Applied, raised.Outcome);

        // Served from the cache until the event about Kenya arrives (no sidecar here: delivered as the sidecar would).
        Assert.Equal(ThreatLevel.Increased, (await company.GetBriefingAsync(new GetBriefingRequest { CountryCode = "KE" })).CountryLevel);
        await advisories.DeliverAsync(TestEvents.LevelChanged("KE", 2, ThreatLevel.AvoidNonEssential, ThreatLevel.Increased, assessmentId: "KE"));

        var after = await company.GetBriefingAsync(new GetBriefingRequest { CountryCode = "KE" });
        Assert.Equal(ThreatLevel.AvoidNonEssential, after.CountryLevel);
        Assert.Equal(2, after.CountryVersion);
    }

    [Fact]
    public async Task Briefing_WithABadCountry_IsInvalidArgument()
    {
        await using var advisories = await AdvisoriesTestHost.StartAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            advisories.Company("traveller-co").GetBriefingAsync(new GetBriefingRequest { CountryCode = "Kenya" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
    }
}
