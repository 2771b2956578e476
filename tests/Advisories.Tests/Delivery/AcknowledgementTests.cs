using Dcis.Crisis.Advisories.Delivery;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf.WellKnownTypes;

namespace Dcis.Crisis.Advisories.Tests.Delivery;

public class AcknowledgementTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private readonly AdvisoriesTestHost _host = fixture.Host;

    private async Task<(AdvisoriesService.AdvisoriesServiceClient Client, Advisory Advisory)> IssueAsync(string companyId, string country, ThreatLevel level)
    {
        var client = await _host.RegisterAsync(companyId);
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", country);
        await _host.DeliverAsync(TestEvents.LevelChanged(country, 1, level, ThreatLevel.Increased));
        return (client, (await client.ListAdvisoriesAsync(new ListAdvisoriesRequest())).Advisories.Single());
    }

    private async Task<List<NotificationRequested>> EmailsAsync(string advisoryId)
    {
        var db = _host.Services.GetRequiredService<SqliteDatabase>();
        await using var connection = await db.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT data FROM outbox WHERE topic = $t", null, ("$t", Topics.NotificationRequested));
        var list = new List<NotificationRequested>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var e = ProtoJson.Parse<NotificationRequested>(reader.GetString(0));
            if (e.SourceAlertId == advisoryId)
            {
                list.Add(e);
            }
        }

        return list;
    }

    [Fact]
    public async Task Advisory_IsEmailedToTheSecurityContacts_ThroughNotificationRequested()
    {
        var (_, advisory) = await IssueAsync("email-co", "YE", ThreatLevel.DoNotTravel);
        var email = Assert.Single(await EmailsAsync(advisory.AdvisoryId));
        Assert.Equal("advisories", email.Source);
        Assert.Equal(1, email.AlertVersion);
        Assert.Equal(Priority.Urgent, email.Priority);
        Assert.Equal("security@email-co.example", email.Recipients.Single().Addresses.Single(a => a.Channel == Channel.Email).Address);
        Assert.Equal(2, email.Messages.Count);
        var fr = email.Messages.Single(m => m.Language == Language.Fr).Body;
        var en = email.Messages.Single(m => m.Language == Language.En).Body;
        Assert.Contains("Référence de l'avis : " + advisory.AdvisoryId, fr, StringComparison.Ordinal);
        Assert.Contains("crisis advisories ack " + advisory.AdvisoryId, fr, StringComparison.Ordinal);
        Assert.Contains("Advisory reference: " + advisory.AdvisoryId, en, StringComparison.Ordinal);
        Assert.Contains("AcknowledgeAdvisory", en, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnacknowledgedLevel3_IsChasedAfterTheDelay_NotBefore()
    {
        var (client, advisory) = await IssueAsync("chase-co", "SS", ThreatLevel.AvoidNonEssential);
        var chaser = _host.Services.GetRequiredService<AdvisoryChaser>();
        var now = DateTimeOffset.UtcNow;

        await chaser.RunDueAsync(now.AddMinutes(30), CancellationToken.None);
        Assert.Equal(0, (await client.GetAdvisoryAsync(new GetAdvisoryRequest { AdvisoryId = advisory.AdvisoryId })).Advisory.ChaseCount);

        await chaser.RunDueAsync(now.AddMinutes(61), CancellationToken.None);
        Assert.Equal(1, (await client.GetAdvisoryAsync(new GetAdvisoryRequest { AdvisoryId = advisory.AdvisoryId })).Advisory.ChaseCount);
        var reminder = (await EmailsAsync(advisory.AdvisoryId)).Single(e => e.AlertVersion == 2);
        Assert.StartsWith("[Reminder", reminder.Messages.Single(m => m.Language == Language.En).Subject, StringComparison.Ordinal);

        var viewer = _host.Client(_host.Host.Token(Roles.CrisisCellViewer));
        var counts = await viewer.GetAdvisoryCountsAsync(new GetAdvisoryCountsRequest { CauseEventId = advisory.CauseEventId });
        Assert.Equal(1, counts.Chased);
        Assert.Equal(1, counts.AwaitingAcknowledgement);
    }

    [Fact]
    public async Task AcknowledgedAdvisory_IsNotChased_AndCountsShowIt()
    {
        var (client, advisory) = await IssueAsync("ack-co", "SD", ThreatLevel.DoNotTravel);
        var acked = (await client.AcknowledgeAdvisoryAsync(new AcknowledgeAdvisoryRequest { AdvisoryId = advisory.AdvisoryId })).Advisory;
        Assert.NotNull(acked.AcknowledgedAt);
        Assert.Equal("mgr-ack-co", acked.AcknowledgedBy);

        await _host.Services.GetRequiredService<AdvisoryChaser>().RunDueAsync(DateTimeOffset.UtcNow.AddHours(5), CancellationToken.None);

        Assert.Equal(0, (await client.GetAdvisoryAsync(new GetAdvisoryRequest { AdvisoryId = advisory.AdvisoryId })).Advisory.ChaseCount);
        var counts = await _host.Client(_host.Host.Token(Roles.Analyst)).GetAdvisoryCountsAsync(new GetAdvisoryCountsRequest { CauseEventId = advisory.CauseEventId });
        Assert.Equal(1, counts.Acknowledged);
        Assert.Equal(0, counts.AwaitingAcknowledgement);
        Assert.Empty((await client.ListAdvisoriesAsync(new ListAdvisoriesRequest { UnacknowledgedOnly = true })).Advisories);
    }

    [Fact]
    public async Task Level2Advisory_NeedsNoAcknowledgement_AndIsNeverChased()
    {
        var (client, advisory) = await IssueAsync("level2-co", "ER", ThreatLevel.Increased);
        Assert.False(advisory.AcknowledgementRequired);
        await _host.Services.GetRequiredService<AdvisoryChaser>().RunDueAsync(DateTimeOffset.UtcNow.AddDays(1), CancellationToken.None);
        Assert.Equal(0, (await client.GetAdvisoryAsync(new GetAdvisoryRequest { AdvisoryId = advisory.AdvisoryId })).Advisory.ChaseCount);
    }

    [Fact]
    public async Task NotificationStatus_ForTheAdvisory_IsVisibleOnIt()
    {
        var (client, advisory) = await IssueAsync("status-co", "DJ", ThreatLevel.AvoidNonEssential);
        await _host.DeliverAsync(Topics.NotificationStatusChanged, new NotificationStatusChanged
        {
            EventId = Guid.NewGuid().ToString(),
            Source = "advisories",
            Updates =
            {
                new DeliveryStatusUpdate
                {
                    SourceAlertId = advisory.AdvisoryId, AlertVersion = 1, RecipientId = "c-1", Channel = Channel.Email,
                    Status = DeliveryStatus.Delivered, At = Timestamp.FromDateTime(DateTime.UtcNow),
                },
            },
        });

        var delivery = Assert.Single((await client.GetAdvisoryAsync(new GetAdvisoryRequest { AdvisoryId = advisory.AdvisoryId })).Advisory.ContactDeliveries);
        Assert.Equal(DeliveryStatus.Delivered, delivery.Status);
        Assert.Equal("c-1", delivery.ContactId);
    }
}
