using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

/// <summary>
/// ListAssessments and GetEffectiveLevel copy pre-encoded assessments onto the wire: what a client
/// parses must equal what GetAssessment (serialised the ordinary way) returns, field for field.
/// </summary>
public sealed class PreEncodedResponseTests(ThreatLevelsFixture fixture) : IClassFixture<ThreatLevelsFixture>
{
    [Fact]
    public async Task Lists_And_Effective_Levels_Carry_The_Same_Assessments_As_GetAssessment()
    {
        var analyst = fixture.Analyst();
        var country = Build.Country("KE", ThreatLevel.Increased);
        country.Categories.Add(new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.High });
        await Build.ApplyAsync(analyst, country);
        var zone = await Build.ApplyAsync(analyst, Build.PolygonZone("KE", ThreatLevel.AvoidNonEssential, (2, 38), (2, 42), (4, 42), (4, 38)));
        async Task<Assessment> GetAsync(string id) => (await analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = id })).Assessment;
        var expected = new[] { await GetAsync("KE"), await GetAsync(zone.AssessmentId) };

        var full = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { CountryCode = "KE", PageSize = 1 });
        var second = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { CountryCode = "KE", PageSize = 1, PageToken = full.NextPageToken });
        var basic = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { CountryCode = "KE", View = AssessmentView.Basic });
        var level = await analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { CountryCode = "KE" });

        Assert.Equal<Assessment>(expected, [.. full.Assessments, .. second.Assessments]);
        Assert.NotEmpty(full.NextPageToken);
        Assert.Empty(second.NextPageToken);
        Assert.True(full.LatestSequence >= zone.Sequence);
        Assert.Equal(expected[0], level.Assessment);
        Assert.Equal(expected[1], Assert.Single(level.Zones));
        Assert.Equal(ThreatLevel.Increased, level.Level);
        Assert.Equal(LevelSource.Country, level.Source);
        Assert.Equal("KE", level.CountryCode);
        Assert.Equal(expected.Select(a => (a.AssessmentId, a.Level, a.Version, a.Categories.Count)),
            basic.Assessments.Select(a => (a.AssessmentId, a.Level, a.Version, a.Categories.Count)));
        Assert.Null(basic.Assessments[1].Area.Polygon);
        Assert.Empty(basic.Assessments[0].Summary?.En ?? string.Empty);
    }

    [Fact]
    public async Task A_Repeated_List_Reflects_The_Next_Change()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("UG", ThreatLevel.Normal));
        var request = new ListAssessmentsRequest { CountryCode = "UG", View = AssessmentView.Basic };
        var first = await analyst.ListAssessmentsAsync(request);
        var again = await analyst.ListAssessmentsAsync(request);

        await Build.ApplyAsync(analyst, Build.Country("UG", ThreatLevel.AvoidNonEssential, expectedVersion: 1));
        var after = await analyst.ListAssessmentsAsync(request);

        Assert.Equal(first, again);
        Assert.Equal(ThreatLevel.Normal, Assert.Single(again.Assessments).Level);
        Assert.Equal(ThreatLevel.AvoidNonEssential, Assert.Single(after.Assessments).Level);
        Assert.Equal(2, after.Assessments[0].Version);
        Assert.True(after.LatestSequence > again.LatestSequence);
    }
}
