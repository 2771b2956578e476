using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

public sealed class ApprovalTests(ThreatLevelsFixture fixture) : IClassFixture<ThreatLevelsFixture>
{
    [Fact]
    public async Task Raising_To_Level4_Creates_A_Proposal_And_Changes_Nothing()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("LB", ThreatLevel.AvoidNonEssential));

        var response = await analyst.SetAssessmentAsync(Build.Set(Build.Country("LB", ThreatLevel.DoNotTravel, expectedVersion: 1)));

        Assert.Equal(ChangeOutcome.Proposed, response.Outcome);
        Assert.Equal(ProposalStatus.Pending, response.Proposal.Status);
        Assert.Equal("analyst-1", response.Proposal.ProposedBy);
        var read = (await analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "LB" })).Assessment;
        Assert.Equal(ThreatLevel.AvoidNonEssential, read.Level);
        Assert.Equal(1, read.Version);
    }

    [Fact]
    public async Task Proposer_Cannot_Approve_Their_Own_Proposal()
    {
        var analyst = fixture.Analyst("analyst-a");
        var proposal = (await analyst.SetAssessmentAsync(Build.Set(Build.Country("YE", ThreatLevel.DoNotTravel)))).Proposal;

        await Build.FailsAsync(StatusCode.PermissionDenied,
            () => analyst.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposal.ProposalId }).ResponseAsync);

        await Build.FailsAsync(StatusCode.NotFound, () => analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "YE" }).ResponseAsync);
        var pending = await analyst.ListProposalsAsync(new ListProposalsRequest { Status = ProposalStatus.Pending, CountryCode = "YE" });
        Assert.Single(pending.Proposals);
    }

    [Fact]
    public async Task Second_Analyst_Approves_And_The_Change_Is_Applied_With_Both_Names()
    {
        var proposer = fixture.Analyst("analyst-a");
        var approver = fixture.Analyst("analyst-b");
        var proposal = (await proposer.SetAssessmentAsync(Build.Set(Build.Country("SO", ThreatLevel.DoNotTravel, reason: "Shebab offensive")))).Proposal;

        var approved = await approver.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposal.ProposalId, Note = "confirmed" });

        Assert.Equal(ProposalStatus.Approved, approved.Proposal.Status);
        Assert.Equal("analyst-b", approved.Proposal.DecidedBy);
        Assert.Equal(ThreatLevel.DoNotTravel, approved.Assessment.Level);
        Assert.Equal(ApprovalMode.Approved, approved.Assessment.ApprovalMode);
        Assert.Equal("analyst-a", approved.Assessment.Author);
        Assert.Equal("analyst-b", approved.Assessment.ApprovedBy);
        Assert.Equal(proposal.ProposalId, approved.Change.ProposalId);
        await Build.FailsAsync(StatusCode.FailedPrecondition,
            () => approver.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposal.ProposalId }).ResponseAsync);
    }

    [Fact]
    public async Task Approving_A_Proposal_Overtaken_By_Another_Change_Is_Refused()
    {
        var proposer = fixture.Analyst("analyst-a");
        var approver = fixture.Analyst("analyst-b");
        await Build.ApplyAsync(proposer, Build.Country("LY", ThreatLevel.AvoidNonEssential));
        var proposal = (await proposer.SetAssessmentAsync(Build.Set(Build.Country("LY", ThreatLevel.DoNotTravel, expectedVersion: 1)))).Proposal;
        await Build.ApplyAsync(approver, Build.Country("LY", ThreatLevel.Increased, expectedVersion: 1));

        await Build.FailsAsync(StatusCode.FailedPrecondition,
            () => approver.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposal.ProposalId }).ResponseAsync);

        Assert.Equal(ThreatLevel.Increased, (await approver.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "LY" })).Assessment.Level);
    }

    [Fact]
    public async Task Rejected_Proposal_Applies_Nothing()
    {
        var proposer = fixture.Analyst("analyst-a");
        var approver = fixture.Analyst("analyst-b");
        var proposal = (await proposer.SetAssessmentAsync(Build.Set(Build.Country("SD", ThreatLevel.DoNotTravel)))).Proposal;

        var rejected = await approver.RejectProposalAsync(new RejectProposalRequest { ProposalId = proposal.ProposalId, Reason = "not confirmed" });

        Assert.Equal(ProposalStatus.Rejected, rejected.Proposal.Status);
        Assert.Equal("not confirmed", rejected.Proposal.DecisionNote);
        await Build.FailsAsync(StatusCode.NotFound, () => approver.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "SD" }).ResponseAsync);
    }

    [Fact]
    public async Task Lowering_From_Level4_Needs_No_Second_Analyst()
    {
        var analyst = fixture.Analyst();
        var draft = Build.Country("AF", ThreatLevel.DoNotTravel);
        draft.Emergency = true;
        await Build.ApplyAsync(analyst, draft);

        var lowered = await Build.ApplyAsync(analyst, Build.Country("AF", ThreatLevel.AvoidNonEssential, expectedVersion: 1));

        Assert.Equal(ApprovalMode.NotRequired, lowered.ApprovalMode);
    }

    [Fact]
    public async Task Attache_Always_Proposes_Even_When_Lowering()
    {
        var analyst = fixture.Analyst();
        await Build.ApplyAsync(analyst, Build.Country("ET", ThreatLevel.AvoidNonEssential));
        var attache = fixture.Client(Roles.Attache, "asi-addis", ["ET", "DJ"]);

        var response = await attache.SetAssessmentAsync(Build.Set(Build.Country("ET", ThreatLevel.Increased, expectedVersion: 1)));

        Assert.Equal(ChangeOutcome.Proposed, response.Outcome);
        Assert.Equal(ThreatLevel.AvoidNonEssential, (await analyst.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = "ET" })).Assessment.Level);
        var approved = await analyst.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = response.Proposal.ProposalId });
        Assert.Equal(ThreatLevel.Increased, approved.Assessment.Level);
        Assert.Equal("asi-addis", approved.Assessment.Author);
    }

    [Fact]
    public async Task Attache_Cannot_Propose_Outside_Their_Countries_Nor_Use_Emergency()
    {
        var attache = fixture.Client(Roles.Attache, "asi-addis", ["ET"]);
        var emergency = Build.Country("ET", ThreatLevel.DoNotTravel);
        emergency.Emergency = true;

        await Build.FailsAsync(StatusCode.PermissionDenied,
            () => attache.SetAssessmentAsync(Build.Set(Build.Country("ER", ThreatLevel.Increased))).ResponseAsync);
        await Build.FailsAsync(StatusCode.PermissionDenied, () => attache.SetAssessmentAsync(Build.Set(emergency)).ResponseAsync);

        var proposals = await fixture.Analyst().ListProposalsAsync(new ListProposalsRequest { CountryCode = "ER" });
        Assert.Empty(proposals.Proposals);
    }

    [Fact]
    public async Task Attache_Lists_Only_The_Proposals_Of_Their_Countries()
    {
        var analyst = fixture.Analyst("analyst-list");
        await analyst.SetAssessmentAsync(Build.Set(Build.Country("KE", ThreatLevel.DoNotTravel)));
        await analyst.SetAssessmentAsync(Build.Set(Build.Country("UG", ThreatLevel.DoNotTravel)));
        var attache = fixture.Client(Roles.Attache, "asi-nairobi", ["KE"]);

        var seen = await attache.ListProposalsAsync(new ListProposalsRequest { PageSize = 500 });

        Assert.Contains(seen.Proposals, p => p.CountryCode == "KE");
        Assert.All(seen.Proposals, p => Assert.Equal("KE", p.CountryCode));
    }

    [Fact]
    public async Task ListProposals_Pages_Newest_First()
    {
        var analyst = fixture.Analyst("analyst-pager");
        foreach (var c in new[] { "MZ", "MW", "ZM" })
        {
            await analyst.SetAssessmentAsync(Build.Set(Build.Country(c, ThreatLevel.DoNotTravel)));
        }

        var first = await analyst.ListProposalsAsync(new ListProposalsRequest { PageSize = 2 });
        var second = await analyst.ListProposalsAsync(new ListProposalsRequest { PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal(2, first.Proposals.Count);
        Assert.NotEmpty(first.NextPageToken);
        Assert.Empty(first.Proposals.Select(p => p.ProposalId).Intersect(second.Proposals.Select(p => p.ProposalId)));
        Assert.True(first.Proposals[0].ProposedAt.ToDateTimeOffset() >= first.Proposals[1].ProposedAt.ToDateTimeOffset());
    }
}
