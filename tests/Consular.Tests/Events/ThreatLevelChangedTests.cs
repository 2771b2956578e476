using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.Events;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;

namespace Dcis.Crisis.Consular.Tests.Events;

public sealed class ThreatLevelChangedTests : IAsyncLifetime
{
    private readonly ConsularTestHost _t = new();

    public Task InitializeAsync() => _t.InitializeAsync();

    public Task DisposeAsync() => _t.DisposeAsync();

    private Task HandleAsync(ThreatLevelChanged e) =>
        _t.Service<ThreatLevelChangedConsumer>().HandleAsync(e, ConsularTestHost.Incoming(e.EventId, "threat-level-changed"), default);

    [Fact]
    public async Task LevelChange_Redelivered_AlertsEachPersonOnce_EvenResidentAndTraveller()
    {
        var both = ConsularTestHost.Resident("ML");
        both.Trips.Add(new TripLeg { CountryCode = "ML", FromDate = ConsularTestHost.Date(-1), ToDate = ConsularTestHost.Date(5) });
        var person = await _t.RegisterAsync("post-bamako", both);
        var e = ConsularTestHost.LevelChange("ML", ThreatLevel.AvoidNonEssential, ThreatLevel.DoNotTravel);

        await HandleAsync(e);
        await HandleAsync(e);

        var batch = Assert.Single(await _t.OutboxAsync<NotificationRequested>("notification-requested"));
        Assert.Equal(person.RegistrantId, Assert.Single(batch.Recipients).RecipientId);
        Assert.Equal(1, batch.BatchCount);
        Assert.Single(await _t.OutboxAsync<ConsularAlertIssued>("consular-alert-issued"));
        Assert.Equal(1, await _t.CountAsync("SELECT COUNT(*) FROM alerts"));
    }

    [Fact]
    public async Task LevelChange_SpeaksEachPersonsLanguage_PreferredChannelFirst()
    {
        var fr = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var en = await _t.RegisterAsync("post-bamako", ConsularTestHost.Traveller("ML", 0, 3));

        await HandleAsync(ConsularTestHost.LevelChange("ML", ThreatLevel.Increased, ThreatLevel.AvoidNonEssential));

        var batch = Assert.Single(await _t.OutboxAsync<NotificationRequested>("notification-requested"));
        var frRecipient = batch.Recipients.Single(r => r.RecipientId == fr.RegistrantId);
        var enRecipient = batch.Recipients.Single(r => r.RecipientId == en.RegistrantId);
        Assert.Equal(Language.Fr, frRecipient.Language);
        Assert.Equal(new[] { Channel.Sms, Channel.AppInbox, Channel.Email }, frRecipient.Addresses.Select(a => a.Channel));
        Assert.Equal(Language.En, enRecipient.Language);
        Assert.Equal(new[] { Channel.Email }, enRecipient.Addresses.Select(a => a.Channel));
        Assert.Contains("Restez chez vous.", batch.Messages.Single(m => m.Language == Language.Fr).Body, StringComparison.Ordinal);
        Assert.Contains("Stay at home.", batch.Messages.Single(m => m.Language == Language.En).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LevelChange_WhereNobodyIsPresent_CreatesNoAlert()
    {
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));

        await HandleAsync(ConsularTestHost.LevelChange("NE", ThreatLevel.Increased, ThreatLevel.DoNotTravel));

        Assert.Equal(0, await _t.CountAsync("SELECT COUNT(*) FROM alerts"));
        Assert.Empty(await _t.OutboxAsync<NotificationRequested>("notification-requested"));
    }

    [Fact]
    public async Task LevelChange_StaleVersion_IsIgnored_AndLoweringAlsoAlerts()
    {
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));

        await HandleAsync(ConsularTestHost.LevelChange("ML", ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential, version: 5));
        await HandleAsync(ConsularTestHost.LevelChange("ML", ThreatLevel.AvoidNonEssential, ThreatLevel.DoNotTravel, version: 4));

        var alerts = await _t.OutboxAsync<ConsularAlertIssued>("consular-alert-issued");
        Assert.Equal(ThreatLevel.AvoidNonEssential, Assert.Single(alerts).Level);
    }

    [Fact]
    public async Task SameLevel_CategoriesOnly_CreatesNoAlert()
    {
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));

        await HandleAsync(ConsularTestHost.LevelChange("ML", ThreatLevel.DoNotTravel, ThreatLevel.DoNotTravel));

        Assert.Equal(0, await _t.CountAsync("SELECT COUNT(*) FROM alerts"));
    }

    [Fact]
    public async Task ManyPeople_AreSplitInBatchesOfAtMostOneThousand()
    {
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_t.DbPath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var tx = connection.BeginTransaction();
            for (var i = 0; i < 2100; i++)
            {
                await using var insert = connection.CreateCommand();
                insert.Transaction = tx;
                insert.CommandText = "INSERT INTO registrants(registrant_id, full_name, home_country, app_inbox, preferred_channel, language, household_size, data, created_at) VALUES ($id, 'x', 'ML', 1, 3, 1, 1, '{}', '2026-01-01')";
                insert.Parameters.AddWithValue("$id", $"reg-bulk-{i:D5}");
                await insert.ExecuteNonQueryAsync();
            }

            await tx.CommitAsync();
        }

        await HandleAsync(ConsularTestHost.LevelChange("ML", ThreatLevel.Increased, ThreatLevel.DoNotTravel));

        var batches = await _t.OutboxAsync<NotificationRequested>("notification-requested");
        Assert.Equal(new[] { 1000, 1000, 100 }, batches.Select(b => b.Recipients.Count));
        Assert.All(batches, b => Assert.Equal(3, b.BatchCount));
        Assert.Equal(2100, batches.SelectMany(b => b.Recipients).Select(r => r.RecipientId).Distinct().Count());
    }

    [Fact]
    public async Task DeliveryStatuses_UpdateTheAlertCounts()
    {
        var a = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var b = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var issued = (await _t.Officer("post-bamako").IssueAlertAsync(TestAlerts.Request("ML", _t.Clock))).Alert;
        var at = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(_t.Clock.GetUtcNow());
        DeliveryStatusUpdate U(string r, DeliveryStatus s) => new() { SourceAlertId = issued.AlertId, AlertVersion = 1, RecipientId = r, Status = s, At = at, Channel = Channel.Sms };
        var statuses = new NotificationStatusChanged
        {
            EventId = Guid.NewGuid().ToString(),
            Source = "consular",
            Updates = { U(a.RegistrantId, DeliveryStatus.Sent), U(a.RegistrantId, DeliveryStatus.Delivered), U(a.RegistrantId, DeliveryStatus.Read), U(b.RegistrantId, DeliveryStatus.Failed), U(a.RegistrantId, DeliveryStatus.Sent) },
        };

        await _t.Service<NotificationStatusChangedConsumer>().HandleAsync(statuses, ConsularTestHost.Incoming(statuses.EventId, "notification-status-changed"), default);

        var counts = (await _t.As("crisis-cell-viewer").GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = issued.AlertId })).Alert.Counts;
        Assert.Equal((2L, 1L, 1L, 1L, 1L), (counts.Targeted, counts.Sent, counts.Delivered, counts.Read, counts.Failed));
        Assert.NotNull(counts.FirstDeliveredAt);
    }

    [Fact]
    public async Task SentTimes_Are_The_First_And_Last_Hand_Over_Whatever_The_Order_Of_Updates()
    {
        var a = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var b = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var issued = (await _t.Officer("post-bamako").IssueAlertAsync(TestAlerts.Request("ML", _t.Clock))).Alert;
        var t0 = _t.Clock.GetUtcNow();
        DeliveryStatusUpdate U(string r, DeliveryStatus s, int seconds) => new()
        {
            SourceAlertId = issued.AlertId, AlertVersion = 1, RecipientId = r, Status = s, Channel = Channel.Email,
            At = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(t0.AddSeconds(seconds)),
        };
        var statuses = new NotificationStatusChanged
        {
            EventId = Guid.NewGuid().ToString(),
            Source = "consular",
            // b is reached 7 s after a; a's later delivery confirmation does not move its sent time.
            Updates = { U(b.RegistrantId, DeliveryStatus.Sent, 9), U(a.RegistrantId, DeliveryStatus.Sent, 2), U(a.RegistrantId, DeliveryStatus.Delivered, 30) },
        };

        await _t.Service<NotificationStatusChangedConsumer>().HandleAsync(statuses, ConsularTestHost.Incoming(statuses.EventId, "notification-status-changed"), default);

        var counts = (await _t.As("crisis-cell-viewer").GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = issued.AlertId })).Alert.Counts;
        Assert.Equal(t0.AddSeconds(2), counts.FirstSentAt.ToDateTimeOffset());
        Assert.Equal(t0.AddSeconds(9), counts.LastSentAt.ToDateTimeOffset());
        Assert.Equal(t0.AddSeconds(30), counts.FirstDeliveredAt.ToDateTimeOffset());
    }
}
