using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

public sealed class ValidationTests(ThreatLevelsFixture fixture) : IClassFixture<ThreatLevelsFixture>
{
    public static TheoryData<string, string> BadDrafts => new()
    {
        { "unknown-country", "assessment.area.country_code" },
        { "lowercase-country", "assessment.area.country_code" },
        { "zone-of-another-country", "assessment.area.subdivision_codes[0]" },
        { "unknown-subdivision", "assessment.area.subdivision_codes[0]" },
        { "self-intersecting-polygon", "assessment.area.polygon" },
        { "10000-vertex-polygon", "assessment.area.polygon.vertices" },
        { "polygon-out-of-range", "assessment.area.polygon.vertices[1]" },
        { "polygon-and-circle", "assessment.area" },
        { "zero-radius-circle", "assessment.area.circle.radius_meters" },
        { "empty-reason", "assessment.reason" },
        { "oversize-summary", "assessment.summary.fr" },
        { "oversize-reason", "assessment.reason" },
        { "no-level", "assessment.level" },
        { "duplicate-category", "assessment.categories[1].category" },
        { "category-without-severity", "assessment.categories[0].severity" },
        { "review-before-effective", "assessment.review_by" },
        { "negative-version", "assessment.expected_version" },
    };

    private static AssessmentDraft Bad(string kind)
    {
        // "ZZ" and "ML" zones are never valid; each case uses country CM (never written in this class otherwise).
        var d = Build.Country("CM", ThreatLevel.Increased);
        switch (kind)
        {
            case "unknown-country": d.Area.CountryCode = "ZZ"; break;
            case "lowercase-country": d.Area.CountryCode = "cm"; break;
            case "zone-of-another-country": d.Area.SubdivisionCodes.Add("NG-LA"); break;
            case "unknown-subdivision": d.Area.SubdivisionCodes.Add("CM-XX"); break;
            case "self-intersecting-polygon": d = Build.PolygonZone("CM", ThreatLevel.Increased, (4, 10), (6, 12), (4, 12), (6, 10)); break;
            case "10000-vertex-polygon":
                d = Build.PolygonZone("CM", ThreatLevel.Increased, [.. Enumerable.Range(0, 10_000).Select(i =>
                    (5 + Math.Sin(i * 2 * Math.PI / 10_000), 12 + Math.Cos(i * 2 * Math.PI / 10_000)))]);
                break;
            case "polygon-out-of-range": d = Build.PolygonZone("CM", ThreatLevel.Increased, (4, 10), (95, 12), (6, 12)); break;
            case "polygon-and-circle":
                d = Build.PolygonZone("CM", ThreatLevel.Increased, (4, 10), (4, 12), (6, 12));
                d.Area.Circle = new Circle { Center = new LatLng { Latitude = 4, Longitude = 11 }, RadiusMeters = 1000 };
                break;
            case "zero-radius-circle": d.Area.Circle = new Circle { Center = new LatLng { Latitude = 4, Longitude = 11 }, RadiusMeters = 0 }; break;
            case "empty-reason": d.Reason = "  "; break;
            case "oversize-summary": d.Summary.Fr = new string('x', 4001); break;
            case "oversize-reason": d.Reason = new string('x', 501); break;
            case "no-level": d.Level = ThreatLevel.Unspecified; break;
            case "duplicate-category":
                d.Categories.Add(new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.Low });
                d.Categories.Add(new CategoryRating { Category = ThreatCategory.Terrorism, Severity = Severity.High });
                break;
            case "category-without-severity": d.Categories.Add(new CategoryRating { Category = ThreatCategory.Health }); break;
            case "review-before-effective":
                d.EffectiveTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
                d.ReviewBy = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1));
                break;
            case "negative-version": d.ExpectedVersion = -1; break;
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(BadDrafts))]
    public async Task SetAssessment_Rejects_Bad_Input_Naming_The_Field_And_Stores_Nothing(string kind, string field)
    {
        var analyst = fixture.Analyst();
        var ex = await Build.FailsAsync(StatusCode.InvalidArgument, () => analyst.SetAssessmentAsync(Build.Set(Bad(kind))).ResponseAsync);

        Assert.Contains(field, Build.Fields(ex));
        var stored = await analyst.ListAssessmentsAsync(new ListAssessmentsRequest { CountryCode = "CM", PageSize = 500 });
        Assert.Empty(stored.Assessments);
        Assert.Empty((await analyst.ListProposalsAsync(new ListProposalsRequest { CountryCode = "CM" })).Proposals);
    }

    [Fact]
    public async Task Changing_A_Country_Assessment_Into_A_Zone_Is_Refused()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("GA", ThreatLevel.Normal));
        var d = Build.Country("GA", ThreatLevel.Increased, expectedVersion: 1);
        d.AssessmentId = "GA";
        d.Area.SubdivisionCodes.Add("GA-1");

        var ex = await Build.FailsAsync(StatusCode.InvalidArgument, () => analyst.SetAssessmentAsync(Build.Set(d)).ResponseAsync);

        Assert.Contains("assessment.area", Build.Fields(ex));
    }

    [Fact]
    public async Task Correction_Of_Another_Assessments_Change_Is_Refused()
    {
        var analyst = fixture.Analyst();
        var other = await Build.ApplyAsync(analyst, Build.Country("CG", ThreatLevel.Normal));
        await Build.ApplyAsync(analyst, Build.Country("CD", ThreatLevel.Normal));
        var d = Build.Country("CD", ThreatLevel.Increased, expectedVersion: 1);
        d.CorrectsChangeId = other.ChangeId;

        var ex = await Build.FailsAsync(StatusCode.InvalidArgument, () => analyst.SetAssessmentAsync(Build.Set(d)).ResponseAsync);

        Assert.Contains("assessment.corrects_change_id", Build.Fields(ex));
        Assert.Equal(1, (await analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "CD" })).Assessment.Version);
    }

    [Fact]
    public async Task Unknown_Zone_Id_Is_NotFound()
    {
        var d = Build.PolygonZone("GQ", ThreatLevel.Increased, (1, 10), (1, 11), (2, 11));
        d.AssessmentId = "GQ/zone/deadbeef";
        d.ExpectedVersion = 1;
        await Build.FailsAsync(StatusCode.NotFound, () => fixture.Analyst().SetAssessmentAsync(Build.Set(d)).ResponseAsync);
    }

    [Fact]
    public async Task DeclareCrisis_Rejects_Bad_Input_And_Stores_Nothing()
    {
        var analyst = fixture.Analyst();
        var draft = new CrisisDraft { Kind = CrisisKind.Unspecified, Area = new Area { CountryCode = "XX" }, Title = new LocalizedText(), Reason = "", Emergency = true };

        var ex = await Build.FailsAsync(StatusCode.InvalidArgument, () => analyst.DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = draft }).ResponseAsync);

        Assert.Equal(["crisis.kind", "crisis.area.country_code", "crisis.title", "crisis.reason"], Build.Fields(ex));
        Assert.Empty((await analyst.ListCrisesAsync(new ListCrisesRequest { PageSize = 500 })).Crises);
    }

    [Fact]
    public async Task Read_Requests_Reject_Bad_Input()
    {
        var analyst = fixture.Analyst();
        Assert.Contains("country_code", Build.Fields(await Build.FailsAsync(StatusCode.InvalidArgument,
            () => analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { CountryCode = "QQ" }).ResponseAsync)));
        Assert.Contains("point.location", Build.Fields(await Build.FailsAsync(StatusCode.InvalidArgument,
            () => analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { Point = new PointTarget { CountryCode = "CM", Location = new LatLng { Latitude = 91 } } }).ResponseAsync)));
        Assert.Contains("target", Build.Fields(await Build.FailsAsync(StatusCode.InvalidArgument,
            () => analyst.GetEffectiveLevelAsync(new GetEffectiveLevelRequest()).ResponseAsync)));
        Assert.Contains("page_size", Build.Fields(await Build.FailsAsync(StatusCode.InvalidArgument,
            () => analyst.ListAssessmentsAsync(new ListAssessmentsRequest { PageSize = 501 }).ResponseAsync)));
        Assert.Contains("page_token", Build.Fields(await Build.FailsAsync(StatusCode.InvalidArgument,
            () => analyst.GetHistoryAsync(new GetHistoryRequest { CountryCode = "CM", PageToken = "garbage" }).ResponseAsync)));
        Assert.Contains("after_sequence", Build.Fields(await Build.FailsAsync(StatusCode.InvalidArgument,
            () => analyst.WatchChanges(new WatchChangesRequest { AfterSequence = -1 }).ResponseStream.MoveNext(CancellationToken.None))));
    }
}
