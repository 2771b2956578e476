using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

/// <summary>Every RPC against every role: allowed roles get past authorization (success or a business error),
/// others get PermissionDenied, and a call without a token gets Unauthenticated.</summary>
public sealed class AuthorizationTests(ThreatLevelsFixture fixture) : IClassFixture<ThreatLevelsFixture>
{
    private const string NoToken = "none";

    private static readonly string[] Readers = [Roles.Analyst, Roles.Attache, Roles.CrisisCellViewer, Roles.ConsularOfficer, Roles.CompanySecurity];

    private static readonly Dictionary<string, (string[] Allowed, Func<ThreatLevelsService.ThreatLevelsServiceClient, Task> Call)> Rpcs = new()
    {
        ["SetAssessment"] = ([Roles.Analyst, Roles.Attache], c => c.SetAssessmentAsync(Build.Set(Build.Country("AR", ThreatLevel.Increased))).ResponseAsync),
        ["GetAssessment"] = (Readers, c => c.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "AR" }).ResponseAsync),
        ["ListAssessments"] = (Readers, c => c.ListAssessmentsAsync(new ListAssessmentsRequest()).ResponseAsync),
        ["GetEffectiveLevel"] = (Readers, c => c.GetEffectiveLevelAsync(new GetEffectiveLevelRequest { CountryCode = "AR" }).ResponseAsync),
        ["GetHistory"] = (Readers, c => c.GetHistoryAsync(new GetHistoryRequest { CountryCode = "AR" }).ResponseAsync),
        ["ListProposals"] = ([Roles.Analyst, Roles.Attache, Roles.CrisisCellViewer], c => c.ListProposalsAsync(new ListProposalsRequest()).ResponseAsync),
        ["ApproveProposal"] = ([Roles.Analyst], c => c.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = "prop-unknown" }).ResponseAsync),
        ["RejectProposal"] = ([Roles.Analyst], c => c.RejectProposalAsync(new RejectProposalRequest { ProposalId = "prop-unknown", Reason = "no" }).ResponseAsync),
        ["DeclareCrisis"] = ([Roles.Analyst], c => c.DeclareCrisisAsync(new DeclareCrisisRequest
        {
            Crisis = new CrisisDraft { Kind = CrisisKind.Other, Area = new Area { CountryCode = "AR" }, Title = new LocalizedText { En = "t" }, Reason = "r" },
        }).ResponseAsync),
        ["UpdateCrisis"] = ([Roles.Analyst], c => c.UpdateCrisisAsync(new UpdateCrisisRequest { CrisisId = "crisis-unknown", ExpectedVersion = 1, Reason = "r" }).ResponseAsync),
        ["CloseCrisis"] = ([Roles.Analyst], c => c.CloseCrisisAsync(new CloseCrisisRequest { CrisisId = "crisis-unknown", ExpectedVersion = 1 }).ResponseAsync),
        ["GetCrisis"] = (Readers, c => c.GetCrisisAsync(new GetCrisisRequest { CrisisId = "crisis-unknown" }).ResponseAsync),
        ["ListCrises"] = (Readers, c => c.ListCrisesAsync(new ListCrisesRequest()).ResponseAsync),
        ["ListDueForReview"] = (Readers, c => c.ListDueForReviewAsync(new ListDueForReviewRequest()).ResponseAsync),
        ["WatchChanges"] = (Readers, async c =>
        {
            using var call = c.WatchChanges(new WatchChangesRequest { AfterSequence = long.MaxValue / 2 });
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await call.ResponseStream.MoveNext(cts.Token);
        }),
        ["ListCountries"] = (Readers, c => c.ListCountriesAsync(new ListCountriesRequest()).ResponseAsync),
        ["GetCountryBriefing"] = (Readers, c => c.GetCountryBriefingAsync(new GetCountryBriefingRequest { CountryCode = "AR" }).ResponseAsync),
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var rpc in Rpcs.Keys)
        {
            foreach (var role in Roles.All.Append(NoToken))
            {
                data.Add(rpc, role);
            }
        }

        return data;
    }

    [Fact]
    public void Every_Rpc_Of_The_Service_Is_Covered()
    {
        var methods = ThreatLevelsService.Descriptor.Methods.Select(m => m.Name).Order();
        Assert.Equal(methods, Rpcs.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Rpc_Is_Allowed_Only_For_Its_Roles(string rpc, string role)
    {
        var (allowed, call) = Rpcs[rpc];
        var client = role == NoToken ? fixture.Anonymous() : fixture.Client(role, $"{role}-user", ["AR"]);
        StatusCode? status = null;
        try
        {
            await call(client);
        }
        catch (RpcException ex)
        {
            status = ex.StatusCode;
        }

        if (role == NoToken)
        {
            Assert.Equal(StatusCode.Unauthenticated, status);
        }
        else if (allowed.Contains(role))
        {
            Assert.True(status is not StatusCode.PermissionDenied and not StatusCode.Unauthenticated, $"{role} should pass authorization of {rpc}, got {status}");
        }
        else
        {
            Assert.Equal(StatusCode.PermissionDenied, status);
        }
    }
}
