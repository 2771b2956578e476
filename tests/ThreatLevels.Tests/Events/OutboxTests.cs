using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.ThreatLevels.V1;

namespace Dcis.Crisis.ThreatLevels.Tests.Events;

/// <summary>The events written to the outbox with each change (the sidecar test checks they reach a subscriber).</summary>
public sealed class OutboxTests(ThreatLevelsFixture fixture) : IClassFixture<ThreatLevelsFixture>
{
    private async Task<List<(string Topic, string Type, string Data, string? TraceParent)>> OutboxAsync(string contains)
    {
        var db = fixture.Host.App.Services.GetRequiredService<SqliteDatabase>();
        await using var connection = await db.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT topic, type, data, traceparent FROM outbox WHERE data LIKE $p ORDER BY seq", null, ("$p", $"%{contains}%"));
        var rows = new List<(string, string, string, string?)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return rows;
    }

    [Fact]
    public async Task An_Applied_Change_Writes_ThreatLevelChanged_With_Everything_Consumers_Need()
    {
        var analyst = fixture.Analyst("analyst-a");
        await Build.ApplyAsync(analyst, Build.Country("VE", ThreatLevel.Increased));
        var draft = Build.Country("VE", ThreatLevel.DoNotTravel, expectedVersion: 1, reason: "Troubles à Caracas");
        draft.Categories.Add(new CategoryRating { Category = ThreatCategory.CivilUnrest, Severity = Severity.Severe });
        var proposal = (await analyst.SetAssessmentAsync(Build.Set(draft))).Proposal;
        var approved = await fixture.Analyst("analyst-b").ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposal.ProposalId });

        var rows = (await OutboxAsync("\"VE\"")).Where(r => r.Topic == Topics.ThreatLevelChanged).ToList();

        Assert.Equal(2, rows.Count);
        Assert.Equal("dcis.crisis.events.v1.ThreatLevelChanged", rows[1].Type);
        var e = ProtoJson.Parse<ThreatLevelChanged>(rows[1].Data);
        Assert.Equal("VE", e.AssessmentId);
        Assert.Equal(2, e.Version);
        Assert.Equal(approved.Change.Sequence, e.Sequence);
        Assert.Equal(ThreatLevel.Increased, e.PreviousLevel);
        Assert.Equal(ThreatLevel.DoNotTravel, e.NewLevel);
        Assert.Equal(ThreatLevel.DoNotTravel, e.CountryLevel);
        Assert.Equal([ThreatCategory.CivilUnrest], e.CategoriesAdded);
        Assert.Equal(ApprovalMode.Approved, e.ApprovalMode);
        Assert.Equal("analyst-a", e.Author);
        Assert.Equal("analyst-b", e.ApprovedBy);
        Assert.Equal("Troubles à Caracas", e.Reason);
        Assert.Equal(approved.Change.ChangeId, e.ChangeId);
        Assert.True(Guid.TryParse(e.EventId, out _));
        Assert.NotNull(rows[1].TraceParent);
    }

    [Fact]
    public async Task Proposals_And_Rejected_Changes_Write_No_Event()
    {
        var analyst = fixture.Analyst("analyst-a");
        await analyst.SetAssessmentAsync(Build.Set(Build.Country("NI", ThreatLevel.DoNotTravel)));

        Assert.Empty(await OutboxAsync("\"NI\""));
    }

    [Fact]
    public async Task Crisis_Declaration_Update_And_Close_Write_Their_Events()
    {
        var analyst = fixture.Analyst();
        var crisis = (await analyst.DeclareCrisisAsync(new DeclareCrisisRequest
        {
            Crisis = new CrisisDraft
            {
                Kind = CrisisKind.Evacuation, Area = new Area { CountryCode = "SS" }, Title = new LocalizedText { Fr = "Évacuation", En = "Evacuation" },
                Reason = "combats à Juba", Emergency = true, StartWellbeingCheck = true,
            },
        })).Crisis;
        await analyst.UpdateCrisisAsync(new UpdateCrisisRequest { CrisisId = crisis.CrisisId, ExpectedVersion = 1, Reason = "extension", Description = new LocalizedText { En = "more" } });
        await analyst.CloseCrisisAsync(new CloseCrisisRequest { CrisisId = crisis.CrisisId, ExpectedVersion = 2 });

        var rows = await OutboxAsync(crisis.CrisisId);

        Assert.Equal([Topics.CrisisDeclared, Topics.CrisisDeclared, Topics.CrisisClosed], rows.Select(r => r.Topic));
        var declared = ProtoJson.Parse<CrisisDeclared>(rows[0].Data);
        Assert.Equal(1, declared.Version);
        Assert.True(declared.StartWellbeingCheck);
        Assert.Equal(ApprovalMode.Emergency, declared.ApprovalMode);
        Assert.Equal(2, ProtoJson.Parse<CrisisDeclared>(rows[1].Data).Version);
        var closed = ProtoJson.Parse<CrisisClosed>(rows[2].Data);
        Assert.Equal(3, closed.Version);
        Assert.Equal("Evacuation", closed.Title.En);
    }
}
