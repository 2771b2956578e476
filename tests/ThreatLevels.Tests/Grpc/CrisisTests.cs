using Dcis.Crisis.Common.V1;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;

namespace Dcis.Crisis.ThreatLevels.Tests.Grpc;

public sealed class CrisisTests(ThreatLevelsFixture fixture) : IClassFixture<ThreatLevelsFixture>
{
    private static CrisisDraft Draft(string country, bool emergency) => new()
    {
        Kind = CrisisKind.NaturalDisaster,
        Area = new Area { CountryCode = country },
        Title = new LocalizedText { Fr = "Séisme", En = "Earthquake" },
        Description = new LocalizedText { Fr = "Magnitude 7,8", En = "Magnitude 7.8" },
        Reason = "USGS alert",
        Emergency = emergency,
        StartWellbeingCheck = true,
    };

    [Fact]
    public async Task DeclareCrisis_Without_Emergency_Needs_A_Second_Analyst()
    {
        var proposer = fixture.Analyst("analyst-a");
        var approver = fixture.Analyst("analyst-b");

        var declared = await proposer.DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = Draft("TR", emergency: false) });
        await Build.FailsAsync(StatusCode.PermissionDenied,
            () => proposer.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = declared.Proposal.ProposalId }).ResponseAsync);
        var before = await approver.ListCrisesAsync(new ListCrisesRequest { CountryCode = "TR" });
        var approved = await approver.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = declared.Proposal.ProposalId });

        Assert.Equal(ChangeOutcome.Proposed, declared.Outcome);
        Assert.Empty(before.Crises);
        Assert.Equal(CrisisStatus.Active, approved.Crisis.Status);
        Assert.Equal(ApprovalMode.Approved, approved.Crisis.ApprovalMode);
        Assert.Equal("analyst-a", approved.Crisis.DeclaredBy);
        Assert.Equal("analyst-b", approved.Crisis.ApprovedBy);
        Assert.Equal(approved.Crisis.CrisisId, approved.Proposal.CrisisId);
    }

    [Fact]
    public async Task DeclareCrisis_As_Emergency_Is_Immediate_And_Recorded()
    {
        var analyst = fixture.Analyst();
        var declared = await analyst.DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = Draft("JP", emergency: true) });

        Assert.Equal(ChangeOutcome.Applied, declared.Outcome);
        Assert.Equal(ApprovalMode.Emergency, declared.Crisis.ApprovalMode);
        Assert.Matches(@"^crisis-\d{4}-\d{4}$", declared.Crisis.CrisisId);
        Assert.Equal(1, declared.Crisis.Version);
    }

    [Fact]
    public async Task Update_And_Close_Bump_The_Version_And_Refuse_Stale_Versions()
    {
        var analyst = fixture.Analyst();
        var crisis = (await analyst.DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = Draft("ID", emergency: true) })).Crisis;

        var updated = (await analyst.UpdateCrisisAsync(new UpdateCrisisRequest
        {
            CrisisId = crisis.CrisisId, ExpectedVersion = 1, Reason = "aftershocks", Title = new LocalizedText { Fr = "Séisme et tsunami", En = "Earthquake and tsunami" },
        })).Crisis;
        await Build.FailsAsync(StatusCode.FailedPrecondition,
            () => analyst.CloseCrisisAsync(new CloseCrisisRequest { CrisisId = crisis.CrisisId, ExpectedVersion = 1 }).ResponseAsync);
        var closed = (await analyst.CloseCrisisAsync(new CloseCrisisRequest { CrisisId = crisis.CrisisId, ExpectedVersion = 2, Note = new LocalizedText { En = "over" } })).Crisis;
        await Build.FailsAsync(StatusCode.FailedPrecondition,
            () => analyst.CloseCrisisAsync(new CloseCrisisRequest { CrisisId = crisis.CrisisId, ExpectedVersion = 3 }).ResponseAsync);

        Assert.Equal(2, updated.Version);
        Assert.Equal("Earthquake and tsunami", updated.Title.En);
        Assert.Equal(CrisisStatus.Closed, closed.Status);
        Assert.Equal(3, closed.Version);
        Assert.Equal("analyst-1", closed.ClosedBy);
    }

    [Fact]
    public async Task ListCrises_Separates_Active_And_Past()
    {
        var analyst = fixture.Analyst();
        var open = (await analyst.DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = Draft("PH", emergency: true) })).Crisis;
        var past = (await analyst.DeclareCrisisAsync(new DeclareCrisisRequest { Crisis = Draft("PH", emergency: true) })).Crisis;
        await analyst.CloseCrisisAsync(new CloseCrisisRequest { CrisisId = past.CrisisId, ExpectedVersion = 1 });

        var active = await analyst.ListCrisesAsync(new ListCrisesRequest { Status = CrisisStatus.Active, CountryCode = "PH" });
        var closed = await analyst.ListCrisesAsync(new ListCrisesRequest { Status = CrisisStatus.Closed, CountryCode = "PH" });
        var all = await analyst.ListCrisesAsync(new ListCrisesRequest { CountryCode = "PH" });

        Assert.Equal([open.CrisisId], active.Crises.Select(c => c.CrisisId));
        Assert.Equal([past.CrisisId], closed.Crises.Select(c => c.CrisisId));
        Assert.Equal([past.CrisisId, open.CrisisId], all.Crises.Select(c => c.CrisisId));
        Assert.Equal(open.CrisisId, (await analyst.GetCrisisAsync(new GetCrisisRequest { CrisisId = open.CrisisId })).Crisis.CrisisId);
    }
}
