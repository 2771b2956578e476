using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

public sealed class AssessmentTests(ThreatLevelsFixture fixture) : IClassFixture<ThreatLevelsFixture>
{
    [Theory]
    [InlineData("BE", ThreatLevel.Normal)]
    [InlineData("NL", ThreatLevel.Increased)]
    [InlineData("LU", ThreatLevel.AvoidNonEssential)]
    public async Task SetAssessment_Applies_Each_Level_Directly(string country, ThreatLevel level)
    {
        var analyst = fixture.Analyst();
        var applied = await Build.ApplyAsync(analyst, Build.Country(country, level));

        var read = (await analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = country })).Assessment;
        Assert.Equal(level, read.Level);
        Assert.Equal(1, read.Version);
        Assert.Equal(ApprovalMode.NotRequired, read.ApprovalMode);
        Assert.Equal("analyst-1", read.Author);
        Assert.Equal(applied.ChangeId, read.ChangeId);
    }

    [Fact]
    public async Task SetAssessment_Applies_Level4_As_Emergency_And_Records_It()
    {
        var analyst = fixture.Analyst();
        var draft = Build.Country("SY", ThreatLevel.DoNotTravel, reason: "Frappes sur Damas");
        draft.Emergency = true;
        var response = await analyst.SetAssessmentAsync(Build.Set(draft));

        Assert.Equal(ChangeOutcome.Applied, response.Outcome);
        Assert.Equal(ThreatLevel.DoNotTravel, response.Assessment.Level);
        Assert.Equal(ApprovalMode.Emergency, response.Assessment.ApprovalMode);
        var history = await analyst.GetHistoryAsync(new GetHistoryRequest { AssessmentId = "SY" });
        var entry = Assert.Single(history.Changes);
        Assert.True(entry.Emergency);
        Assert.Equal("Frappes sur Damas", entry.Assessment.Reason);
        Assert.Equal(ApprovalMode.Emergency, entry.Assessment.ApprovalMode);
    }

    [Fact]
    public async Task SetAssessment_Keeps_Every_Category_With_Its_Severity()
    {
        var analyst = fixture.Analyst();
        var draft = Build.Country("CO", ThreatLevel.AvoidNonEssential);
        var categories = Enum.GetValues<ThreatCategory>().Where(c => c != ThreatCategory.Unspecified).ToList();
        var severities = Enum.GetValues<Severity>().Where(s => s != Severity.Unspecified).ToList();
        for (var i = 0; i < categories.Count; i++)
        {
            draft.Categories.Add(new CategoryRating { Category = categories[i], Severity = severities[i % severities.Count] });
        }

        await Build.ApplyAsync(analyst, draft);

        var read = (await analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "CO" })).Assessment;
        Assert.Equal(11, read.Categories.Count);
        for (var i = 0; i < categories.Count; i++)
        {
            Assert.Equal(severities[i % severities.Count], read.Categories.Single(c => c.Category == categories[i]).Severity);
        }
    }

    [Fact]
    public async Task SetAssessment_Reports_Categories_Added_And_Removed()
    {
        var analyst = fixture.Analyst();
        var first = Build.Country("PE", ThreatLevel.Increased);
        first.Categories.Add(new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.Low });
        first.Categories.Add(new CategoryRating { Category = ThreatCategory.CivilUnrest, Severity = Severity.Moderate });
        await Build.ApplyAsync(analyst, first);
        var second = Build.Country("PE", ThreatLevel.AvoidNonEssential, expectedVersion: 1);
        second.Categories.Add(new CategoryRating { Category = ThreatCategory.CivilUnrest, Severity = Severity.High });
        second.Categories.Add(new CategoryRating { Category = ThreatCategory.NaturalHazards, Severity = Severity.Severe });

        var change = (await analyst.SetAssessmentAsync(Build.Set(second))).Change;

        Assert.Equal([ThreatCategory.NaturalHazards], change.CategoriesAdded);
        Assert.Equal([ThreatCategory.Terrorism], change.CategoriesRemoved);
        Assert.Equal(ThreatLevel.Increased, change.PreviousLevel);
    }

    [Fact]
    public async Task SetAssessment_Rejects_StaleVersion_And_Stores_Nothing()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("AT", ThreatLevel.Normal));
        await Build.ApplyAsync(analyst, Build.Country("AT", ThreatLevel.Increased, expectedVersion: 1));

        var ex = await Build.FailsAsync(StatusCode.FailedPrecondition,
            () => analyst.SetAssessmentAsync(Build.Set(Build.Country("AT", ThreatLevel.AvoidNonEssential, expectedVersion: 1))).ResponseAsync);
        await Build.FailsAsync(StatusCode.FailedPrecondition,
            () => analyst.SetAssessmentAsync(Build.Set(Build.Country("AT", ThreatLevel.AvoidNonEssential, expectedVersion: 0))).ResponseAsync);

        Assert.Contains("stale", ex.Status.Detail, StringComparison.OrdinalIgnoreCase);
        var read = (await analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "AT" })).Assessment;
        Assert.Equal(ThreatLevel.Increased, read.Level);
        Assert.Equal(2, read.Version);
        Assert.Equal(2, (await analyst.GetHistoryAsync(new GetHistoryRequest { AssessmentId = "AT" })).Changes.Count);
    }

    [Fact]
    public async Task History_Is_Newest_First_And_Pages_Without_Gaps_Or_Repeats()
    {
        var analyst = fixture.Analyst();
        var levels = new[] { ThreatLevel.Normal, ThreatLevel.Increased, ThreatLevel.AvoidNonEssential, ThreatLevel.Increased, ThreatLevel.Normal, ThreatLevel.Increased, ThreatLevel.AvoidNonEssential };
        for (var i = 0; i < levels.Length; i++)
        {
            await Build.ApplyAsync(analyst, Build.Country("PT", levels[i], expectedVersion: i, reason: $"step {i + 1}"));
        }

        var pages = new List<GetHistoryResponse>();
        var token = "";
        do
        {
            var page = await analyst.GetHistoryAsync(new GetHistoryRequest { AssessmentId = "PT", PageSize = 3, PageToken = token });
            pages.Add(page);
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.Equal([3, 3, 1], pages.Select(p => p.Changes.Count));
        var all = pages.SelectMany(p => p.Changes).ToList();
        Assert.Equal([7L, 6, 5, 4, 3, 2, 1], all.Select(c => c.Version));
        Assert.Equal(all.Select(c => c.Sequence).OrderDescending(), all.Select(c => c.Sequence));
        Assert.Equal(["step 7", "step 6", "step 5", "step 4", "step 3", "step 2", "step 1"], all.Select(c => c.Assessment.Reason));
        for (var i = 0; i < all.Count - 1; i++)
        {
            Assert.Equal(all[i + 1].Assessment.Level, all[i].PreviousLevel);
        }
    }

    [Fact]
    public async Task Correction_References_The_Change_It_Corrects_And_Keeps_The_Old_One()
    {
        var analyst = fixture.Analyst();
        var wrong = await Build.ApplyAsync(analyst, Build.Country("CL", ThreatLevel.AvoidNonEssential, reason: "typo: meant level 2"));
        var fix = Build.Country("CL", ThreatLevel.Increased, expectedVersion: 1, reason: "correction");
        fix.CorrectsChangeId = wrong.ChangeId;

        var change = (await analyst.SetAssessmentAsync(Build.Set(fix))).Change;

        Assert.Equal(wrong.ChangeId, change.CorrectsChangeId);
        var history = await analyst.GetHistoryAsync(new GetHistoryRequest { AssessmentId = "CL" });
        Assert.Equal(ThreatLevel.AvoidNonEssential, history.Changes.Single(c => c.ChangeId == wrong.ChangeId).Assessment.Level);
    }

    [Fact]
    public async Task ListAssessments_Returns_All_Countries_In_One_Page_With_Filters()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("IS", ThreatLevel.Normal));
        await Build.ApplyAsync(analyst, Build.Country("EE", ThreatLevel.AvoidNonEssential));

        var all = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { PageSize = 500, Scope = AssessmentScope.Countries });
        var high = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { PageSize = 500, MinLevel = ThreatLevel.AvoidNonEssential });

        Assert.Empty(all.NextPageToken);
        Assert.Contains(all.Assessments, a => a.AssessmentId == "IS");
        Assert.Equal(all.Assessments.Select(a => a.AssessmentId).Order(StringComparer.Ordinal), all.Assessments.Select(a => a.AssessmentId));
        Assert.Contains(high.Assessments, a => a.AssessmentId == "EE");
        Assert.DoesNotContain(high.Assessments, a => a.AssessmentId == "IS");
        Assert.True(all.LatestSequence > 0);
    }

    [Fact]
    public async Task ListAssessments_Basic_View_Omits_Texts_And_Shapes()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.PolygonZone("MA", ThreatLevel.AvoidNonEssential, (30, -8), (30, -6), (32, -6)));

        var full = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { CountryCode = "MA" });
        var basic = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { CountryCode = "MA", View = AssessmentView.Basic });

        var f = Assert.Single(full.Assessments);
        var b = Assert.Single(basic.Assessments);
        Assert.Equal(f.AssessmentId, b.AssessmentId);
        Assert.Equal(f.Level, b.Level);
        Assert.Equal(f.Version, b.Version);
        Assert.NotNull(f.Area.Polygon);
        Assert.Null(b.Area.Polygon);
        Assert.Empty(b.Reason);
        Assert.Null(b.Summary);
        Assert.True(b.CalculateSize() < f.CalculateSize());
    }

    [Fact]
    public async Task ListAssessments_Pages_By_Id()
    {
        var analyst = fixture.Analyst();
        foreach (var c in new[] { "FJ", "FI", "FM" })
        {
            await Build.ApplyAsync(analyst, Build.Country(c, ThreatLevel.Normal));
        }

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { PageSize = 2, PageToken = token });
            Assert.True(page.Assessments.Count <= 2);
            seen.AddRange(page.Assessments.Select(a => a.AssessmentId));
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Subset(seen.ToHashSet(), new HashSet<string> { "FI", "FJ", "FM" });
    }

    [Fact]
    public async Task ListDueForReview_Uses_6_Months_For_Levels_3_4_And_12_For_1_2()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("GT", ThreatLevel.AvoidNonEssential));
        await Build.ApplyAsync(analyst, Build.Country("HN", ThreatLevel.Increased));
        var in7Months = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMonths(7));
        var in13Months = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMonths(13));

        var now = await analyst.ListDueForReviewAsync(new ListDueForReviewRequest { PageSize = 500 });
        var later = await analyst.ListDueForReviewAsync(new ListDueForReviewRequest { AsOf = in7Months, PageSize = 500 });
        var muchLater = await analyst.ListDueForReviewAsync(new ListDueForReviewRequest { AsOf = in13Months, PageSize = 500 });

        Assert.DoesNotContain(now.Assessments, a => a.AssessmentId is "GT" or "HN");
        Assert.Contains(later.Assessments, a => a.AssessmentId == "GT");
        Assert.DoesNotContain(later.Assessments, a => a.AssessmentId == "HN");
        Assert.Contains(muchLater.Assessments, a => a.AssessmentId == "HN");
        Assert.True(muchLater.TotalDue >= 2);
    }

    [Fact]
    public async Task Assessments_Survive_A_Restart_On_The_Same_Files()
    {
        using var dir = new Testing.TempDirectory("tl-restart");
        await using (var first = await Testing.ServiceHost.StartAsync(ThreatLevelsApp.Create, dataDir: dir.Path))
        {
            using var channel = first.Channel(first.Token("analyst"));
            var client = new ThreatLevelsService.ThreatLevelsServiceClient(channel);
            await Build.ApplyAsync(client, Build.Country("NP", ThreatLevel.AvoidNonEssential));
        }

        await using var second = await Testing.ServiceHost.StartAsync(ThreatLevelsApp.Create, dataDir: dir.Path);
        using var channel2 = second.Channel(second.Token("analyst"));
        var client2 = new ThreatLevelsService.ThreatLevelsServiceClient(channel2);
        var read = (await client2.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "NP" })).Assessment;
        Assert.Equal(ThreatLevel.AvoidNonEssential, read.Level);
        var next = await Build.ApplyAsync(client2, Build.Country("NP", ThreatLevel.Increased, expectedVersion: 1));
        Assert.Equal(2, next.Sequence);
    }
}
