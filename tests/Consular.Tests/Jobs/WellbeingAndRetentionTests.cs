using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.Events;
using Dcis.Crisis.Consular.Jobs;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Dcis.Crisis.Consular.Tests.Jobs;

public sealed class WellbeingAndRetentionTests : IAsyncLifetime
{
    private readonly ConsularTestHost _t = new();

    public Task InitializeAsync() => _t.InitializeAsync();

    public Task DisposeAsync() => _t.DisposeAsync();

    private async Task<string> DeclareCrisisAsync(string country)
    {
        var e = new CrisisDeclared
        {
            EventId = Guid.NewGuid().ToString(),
            CrisisId = "crisis-2026-0042",
            Version = 1,
            Kind = CrisisKind.NaturalDisaster,
            Area = new Area { CountryCode = country },
            Title = new LocalizedText { Fr = "Séisme", En = "Earthquake" },
            StartTime = Timestamp.FromDateTimeOffset(_t.Clock.GetUtcNow()),
            DeclaredAt = Timestamp.FromDateTimeOffset(_t.Clock.GetUtcNow()),
            DeclaredBy = "analyst-1",
            StartWellbeingCheck = true,
        };
        await _t.Service<CrisisDeclaredConsumer>().HandleAsync(e, ConsularTestHost.Incoming(e.EventId, "crisis-declared"), default);
        await _t.Service<CrisisDeclaredConsumer>().HandleAsync(e, ConsularTestHost.Incoming(e.EventId, "crisis-declared"), default);
        return e.EventId;
    }

    [Fact]
    public async Task CrisisDeclared_StartsOneCheck_NeedHelpEscalatesAtOnce()
    {
        var person = await _t.RegisterAsync("post-katmandou", ConsularTestHost.Resident("NP"));
        await DeclareCrisisAsync("NP");
        var question = (await _t.OutboxAsync<NotificationRequested>("notification-requested")).Single(b => b.Recipients.Any(r => r.ReplyCode.Length == 8));
        var code = Assert.Single(question.Recipients).ReplyCode;

        var answer = await _t.As("registrant", "someone-else").AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest
        {
            ReplyCode = code,
            Answer = WellbeingAnswer.NeedHelp,
            Text = "injured",
        });

        var escalation = (await _t.OutboxAsync<WellbeingUpdated>("wellbeing-updated")).Last();
        Assert.Equal(answer.CaseReference, escalation.EscalationReference);
        Assert.Equal("post-katmandou", escalation.PostId);
        Assert.Equal(1, escalation.NeedHelp);
        Assert.Equal(1, await _t.CountAsync("SELECT COUNT(*) FROM wellbeing_checks"));
        var followUps = await _t.Officer("post-katmandou").ListFollowUpsAsync(new ListFollowUpsRequest { CheckId = question.SourceAlertId });
        Assert.Equal(person.RegistrantId, Assert.Single(followUps.Entries).RegistrantId);
    }

    [Fact]
    public async Task NoAnswer_GetsAReminder_ThenIsListedForFollowUp()
    {
        var silent = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var safe = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var officer = _t.Officer("post-bamako");
        var check = (await officer.StartWellbeingCheckAsync(new StartWellbeingCheckRequest
        {
            Area = new Area { CountryCode = "ML" },
            RemindAfterHours = 2,
            FollowUpAfterHours = 6,
        })).Check;
        await _t.As("registrant", safe.RegistrantId).AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest { CheckId = check.CheckId, Answer = WellbeingAnswer.Safe });
        var jobs = _t.Service<ConsularJobs>();

        var early = await jobs.RunDueAsync(_t.Clock.GetUtcNow().AddHours(1));
        _t.Clock.Advance(TimeSpan.FromHours(3));
        var reminder = await jobs.RunDueAsync(_t.Clock.GetUtcNow());
        _t.Clock.Advance(TimeSpan.FromHours(4));
        var followUp = await jobs.RunDueAsync(_t.Clock.GetUtcNow());

        Assert.Equal((0L, 0L), (early.Reminded, early.FollowUps));
        Assert.Equal(1, reminder.Reminded);
        var reminderBatch = (await _t.OutboxAsync<NotificationRequested>("notification-requested")).Single(b => b.AlertVersion == 2);
        Assert.Equal(silent.RegistrantId, Assert.Single(reminderBatch.Recipients).RecipientId);
        Assert.Equal(1, followUp.FollowUps);
        var status = (await _t.As("crisis-cell-viewer").GetWellbeingStatusAsync(new GetWellbeingStatusRequest { CheckId = check.CheckId })).Check;
        var counts = Assert.Single(status.Posts);
        Assert.Equal((2L, 1L, 1L, 1L), (counts.Targeted, counts.Safe, counts.NoAnswer, counts.FollowUp));
        var list = await officer.ListFollowUpsAsync(new ListFollowUpsRequest { CheckId = check.CheckId });
        Assert.Equal(silent.RegistrantId, Assert.Single(list.Entries).RegistrantId);
    }

    [Fact]
    public async Task WellbeingRpcs_AreScoped()
    {
        var person = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var check = (await _t.Officer("post-bamako").StartWellbeingCheckAsync(new StartWellbeingCheckRequest { Area = new Area { CountryCode = "ML" } })).Check;
        var niamey = _t.Officer("post-niamey");

        var start = await Assert.ThrowsAsync<RpcException>(() => niamey.StartWellbeingCheckAsync(new StartWellbeingCheckRequest { Area = new Area { CountryCode = "ML" } }).ResponseAsync);
        var status = await Assert.ThrowsAsync<RpcException>(() => niamey.GetWellbeingStatusAsync(new GetWellbeingStatusRequest { CheckId = check.CheckId }).ResponseAsync);
        var answer = await Assert.ThrowsAsync<RpcException>(() => niamey.AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest { CheckId = check.CheckId, RegistrantId = person.RegistrantId, Answer = WellbeingAnswer.Safe }).ResponseAsync);
        var notAsked = await Assert.ThrowsAsync<RpcException>(() => _t.As("registrant", "reg-other").AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest { CheckId = check.CheckId, Answer = WellbeingAnswer.Safe }).ResponseAsync);
        var viewerFollowUps = await Assert.ThrowsAsync<RpcException>(() => _t.As("crisis-cell-viewer").ListFollowUpsAsync(new ListFollowUpsRequest { CheckId = check.CheckId }).ResponseAsync);
        var noAnswer = await Assert.ThrowsAsync<RpcException>(() => _t.As("registrant", person.RegistrantId).AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest { CheckId = check.CheckId }).ResponseAsync);

        Assert.All(new[] { start, status, answer, viewerFollowUps }, e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
        Assert.Equal(StatusCode.NotFound, notAsked.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, noAnswer.StatusCode);
    }

    [Fact]
    public async Task CrisisClosed_StopsReminders()
    {
        await _t.RegisterAsync("post-katmandou", ConsularTestHost.Resident("NP"));
        await DeclareCrisisAsync("NP");
        var closed = new CrisisClosed { EventId = Guid.NewGuid().ToString(), CrisisId = "crisis-2026-0042", Version = 2, Area = new Area { CountryCode = "NP" } };
        await _t.Service<CrisisClosedConsumer>().HandleAsync(closed, ConsularTestHost.Incoming(closed.EventId, "crisis-closed"), default);

        var report = await _t.Service<ConsularJobs>().RunDueAsync(_t.Clock.GetUtcNow().AddHours(10));

        Assert.Equal((0L, 0L), (report.Reminded, report.FollowUps));
    }

    [Fact]
    public async Task Retention_PurgesTravellersAfterTheirLastLeg_AndKeepsResidents()
    {
        var old = await _t.RegisterAsync("post-bamako", ConsularTestHost.Traveller("ML", -45, -35));
        var recent = await _t.RegisterAsync("post-bamako", ConsularTestHost.Traveller("ML", -20, -10));
        var resident = ConsularTestHost.Resident("ML");
        resident.Trips.Add(new TripLeg { CountryCode = "NE", FromDate = ConsularTestHost.Date(-60), ToDate = ConsularTestHost.Date(-50) });
        var residentRegistered = await _t.RegisterAsync("post-bamako", resident);

        var report = await _t.Service<ConsularJobs>().RunDueAsync(_t.Clock.GetUtcNow());
        var again = await _t.Service<ConsularJobs>().RunDueAsync(_t.Clock.GetUtcNow().AddHours(1));

        Assert.True(report.RetentionRan);
        Assert.Equal((2L, 1L), (report.TripLegsPurged, report.PeoplePurged));
        Assert.False(again.RetentionRan);
        Assert.Equal(0, await _t.CountAsync("SELECT COUNT(*) FROM registrants WHERE registrant_id = $r", ("$r", old.RegistrantId)));
        Assert.Equal(1, await _t.CountAsync("SELECT COUNT(*) FROM registrants WHERE registrant_id = $r", ("$r", recent.RegistrantId)));
        var kept = await _t.Officer("post-bamako").GetRegistrantAsync(new GetRegistrantRequest { RegistrantId = residentRegistered.RegistrantId });
        Assert.Empty(kept.Registrant.Trips);
        Assert.Equal(RegistrantKind.Resident, kept.Registrant.Kind);
    }
}
