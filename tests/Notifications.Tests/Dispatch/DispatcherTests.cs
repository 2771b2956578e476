using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Notifications.Domain;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Dispatch;

public sealed class DispatcherTests
{
    [Fact]
    public async Task Email_Reaches_The_Smtp_Server_With_The_Provider_Reference_As_Message_Id()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-mail", [Recipient("reg-1", (Channel.Email, "anne@example.org"))], h.Clock.GetUtcNow()));

        Assert.Equal(1, await h.DispatchUntilIdleAsync());

        var mail = Assert.Single(await h.MailMessagesAsync());
        Assert.Equal(["anne@example.org"], mail.To);
        Assert.Equal("Alerte", mail.Subject);
        var id = await h.ScalarAsync("SELECT id FROM deliveries");
        Assert.Equal($"{DeliveryRules.ProviderReference(id, 0, DeliveryRules.IdempotencyKey("consular", "alert-mail", 1, "reg-1"))}@notifications.dcis-crisis", mail.MessageId);
        Assert.Equal((long)DeliveryStatus.Sent, await h.ScalarAsync("SELECT status FROM deliveries"));
    }

    // A long accented subject is folded and split into RFC 2047 encoded words by the sender; read back
    // through the mail sink it must be the same text, spaces included (the sink once dropped the space
    // before every encoded word: "ML :Déconseillé").
    [Fact]
    public async Task A_Long_Accented_Subject_Arrives_Word_For_Word()
    {
        const string Subject = "Alerte consulaire : ML : Déconseillé sauf raison impérative — Bamako, Ségou, Mopti et Tombouctou";
        await using var h = await StartAsync();
        var request = Request("alert-subject", [Recipient("reg-1", (Channel.Email, "anne@example.org"))], h.Clock.GetUtcNow());
        request.Messages[0].Subject = Subject;
        await h.IntakeAsync(request);

        Assert.Equal(1, await h.DispatchUntilIdleAsync());

        Assert.Equal(Subject, Assert.Single(await h.MailMessagesAsync()).Subject);
    }

    [Fact]
    public async Task Rejected_Email_Falls_Back_To_Sms()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-fb", [Recipient("reg-1", (Channel.Email, "gone@reject.invalid"), (Channel.Sms, "+33612345678"))], h.Clock.GetUtcNow()));

        await h.DispatchUntilIdleAsync();

        Assert.Empty(await h.MailMessagesAsync());
        var sms = Assert.Single(await h.SmsMessagesAsync());
        Assert.Equal("+33612345678", sms.To);
        Assert.Equal((long)Channel.Sms, await h.ScalarAsync("SELECT channel FROM deliveries"));
        Assert.Equal((long)DeliveryStatus.Sent, await h.ScalarAsync("SELECT status FROM deliveries"));
    }

    [Fact]
    public async Task Transient_Sms_Failure_Is_Retried_After_Backoff_Then_Falls_Back_To_The_Inbox()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-retry", [Recipient("reg-1", (Channel.Sms, "+99910000001"), (Channel.AppInbox, "reg-1"))], h.Clock.GetUtcNow()));

        Assert.Equal(1, await h.DispatchUntilIdleAsync());          // try 1 fails (503)
        Assert.Equal(0, await h.DispatchUntilIdleAsync());          // not due before its backoff
        h.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await h.DispatchUntilIdleAsync());          // try 2 fails
        h.Clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(2, await h.DispatchUntilIdleAsync());          // try 3 fails, falls back, inbox sends

        Assert.Equal(4, await h.ScalarAsync("SELECT attempts FROM deliveries"));
        Assert.Equal((long)Channel.AppInbox, await h.ScalarAsync("SELECT channel FROM deliveries"));
        Assert.Equal((long)DeliveryStatus.Sent, await h.ScalarAsync("SELECT status FROM deliveries"));
        Assert.Equal(1, await h.ScalarAsync("SELECT COUNT(*) FROM app_inbox"));
        Assert.Empty(await h.SmsMessagesAsync());
    }

    [Fact]
    public async Task Every_Address_Failing_Ends_Failed_With_The_Provider_Reason()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-fail", [Recipient("reg-1", (Channel.Sms, "+99900000001"))], h.Clock.GetUtcNow()));

        await h.DispatchUntilIdleAsync();

        Assert.Equal((long)DeliveryStatus.Failed, await h.ScalarAsync("SELECT status FROM deliveries"));
        Assert.Equal(1, await h.ScalarAsync($"SELECT COUNT(*) FROM status_trail WHERE status = {(int)DeliveryStatus.Failed} AND reason = 'sms gateway 400'"));
    }

    [Fact]
    public async Task Throttle_Holds_The_Configured_Sms_Rate_Counted_On_A_Manual_Clock()
    {
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:SmsRatePerSecond"] = "5" });
        await h.IntakeAsync(Request("alert-rate", SmsRecipients(40), h.Clock.GetUtcNow()));

        await h.DispatchUntilIdleAsync();
        await h.DispatchUntilIdleAsync();
        Assert.Equal(5, (await h.SmsStatsAsync()).Messages);

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.DispatchUntilIdleAsync();
        Assert.Equal(10, (await h.SmsStatsAsync()).Messages);

        h.Clock.Advance(TimeSpan.FromMilliseconds(600));
        await h.DispatchUntilIdleAsync();
        Assert.Equal(13, (await h.SmsStatsAsync()).Messages);

        h.Clock.Advance(TimeSpan.FromMinutes(1));                     // an idle minute does not bank a minute of tokens
        await h.DispatchUntilIdleAsync();
        Assert.Equal(18, (await h.SmsStatsAsync()).Messages);
    }

    [Fact]
    public async Task Urgent_Messages_Go_Before_Older_Routine_Ones()
    {
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:SmsRatePerSecond"] = "5" });
        await h.IntakeAsync(Request("routine", SmsRecipients(10, "routine", "+3361"), h.Clock.GetUtcNow()));
        await h.IntakeAsync(Request("urgent", SmsRecipients(3, "urgent", "+3362"), h.Clock.GetUtcNow(), priority: Priority.Urgent));

        await h.DispatchUntilIdleAsync();

        var sent = await h.SmsMessagesAsync();
        Assert.Equal(5, sent.Count);
        Assert.Equal(3, sent.Count(m => m.To.StartsWith("+3362", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Nothing_Is_Sent_After_Expiry()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-exp", SmsRecipients(3), h.Clock.GetUtcNow(), expiresIn: TimeSpan.FromMinutes(5)));

        h.Clock.Advance(TimeSpan.FromMinutes(6));
        await h.DispatchUntilIdleAsync();

        Assert.Equal(0, (await h.SmsStatsAsync()).Messages);
        Assert.Equal(3, await h.ScalarAsync($"SELECT COUNT(*) FROM deliveries WHERE status = {(int)DeliveryStatus.Expired}"));
    }

    [Fact]
    public async Task Cancel_Drops_Every_Undelivered_Message_Of_The_Alert()
    {
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:SmsRatePerSecond"] = "5" });
        await h.IntakeAsync(Request("alert-cancel", SmsRecipients(20), h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();                              // 5 go out before the cancel

        var cancel = Request("alert-cancel", [], h.Clock.GetUtcNow());
        cancel.Action = NotificationAction.Cancel;
        cancel.Messages.Clear();
        await h.IntakeAsync(cancel);
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.DispatchUntilIdleAsync();

        Assert.Equal(5, (await h.SmsStatsAsync()).Messages);
        Assert.Equal(15, await h.ScalarAsync($"SELECT COUNT(*) FROM deliveries WHERE status = {(int)DeliveryStatus.Cancelled}"));

        // A late batch of the cancelled version is recorded as cancelled, never sent.
        await h.IntakeAsync(Request("alert-cancel", SmsRecipients(3, "late"), h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();
        Assert.Equal(5, (await h.SmsStatsAsync()).Messages);
    }

    [Fact]
    public async Task Status_Changes_Are_Published_In_Batches_Through_The_Outbox()
    {
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:StatusUpdatesPerEvent"] = "100", ["Notifications:SmsRatePerSecond"] = "10000" });
        await h.IntakeAsync(Request("alert-status", SmsRecipients(250), h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();

        await h.Housekeeping.FlushStatusAsync(CancellationToken.None);

        // The service's own flush loop may have published part of the trail first: count what the
        // outbox holds, whoever wrote it. 250 queued + 250 sent, in events of at most 100 updates.
        const string StatusEvents = "FROM outbox WHERE topic = 'notification-status-changed'";
        Assert.Equal(500, await h.ScalarAsync($"SELECT SUM(json_array_length(data, '$.updates')) {StatusEvents}"));
        Assert.Equal(100, await h.ScalarAsync($"SELECT MAX(json_array_length(data, '$.updates')) {StatusEvents}"));
        Assert.InRange(await h.ScalarAsync($"SELECT COUNT(*) {StatusEvents}"), 5, 10);
        Assert.Equal(0, await h.ScalarAsync("SELECT COUNT(*) FROM status_trail WHERE id > (SELECT published_up_to FROM trail_cursor)"));
        Assert.Equal(0, await h.Housekeeping.FlushStatusAsync(CancellationToken.None));   // nothing is published twice
    }

    [Fact]
    public async Task Concurrent_Status_Flushes_Publish_Each_Trail_Row_Exactly_Once()
    {
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:SmsRatePerSecond"] = "100000" });
        foreach (var prefix in new[] { "a", "b", "c" })
        {
            await h.IntakeAsync(Request("alert-flush", SmsRecipients(1000, prefix), h.Clock.GetUtcNow()));
        }

        await h.DispatchUntilIdleAsync();

        // Four flushes at once, small chunks, so that they read the same rows and meet at the write.
        var flushed = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var total = 0;
            int n;
            while ((n = await h.Store.FlushStatusAsync(300, 100, CancellationToken.None)) > 0)
            {
                total += n;
            }

            return total;
        })));

        const string StatusEvents = "FROM outbox WHERE topic = 'notification-status-changed'";
        var published = await h.ScalarAsync($"SELECT SUM(json_array_length(data, '$.updates')) {StatusEvents}");
        Assert.Equal(6000, await h.ScalarAsync("SELECT COUNT(*) FROM status_trail"));
        Assert.Equal(6000, published);
        Assert.Equal(6000, await h.ScalarAsync(
            $"SELECT COUNT(DISTINCT u.value ->> '$.recipientId' || '/' || (u.value ->> '$.status')) {StatusEvents.Replace("FROM outbox", "FROM outbox, json_each(outbox.data, '$.updates') AS u", StringComparison.Ordinal)}"));
        Assert.True(flushed.Sum() <= 6000);
        Assert.Equal(0, await h.ScalarAsync("SELECT COUNT(*) FROM status_trail WHERE id > (SELECT published_up_to FROM trail_cursor)"));
    }

    [Fact]
    public async Task Contact_Details_Are_Wiped_After_The_Retention()
    {
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:ContactRetention"] = "7.00:00:00" });
        await h.IntakeAsync(Request("alert-wipe", SmsRecipients(2), h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();

        h.Clock.Advance(TimeSpan.FromDays(6));
        Assert.Equal(0, await h.Housekeeping.WipeExpiredContactsAsync(CancellationToken.None));
        h.Clock.Advance(TimeSpan.FromDays(2));
        Assert.Equal(2, await h.Housekeeping.WipeExpiredContactsAsync(CancellationToken.None));

        Assert.Equal(0, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries WHERE addresses IS NOT NULL"));
    }

    [Fact]
    public async Task A_Delivery_Caught_Mid_Send_Is_Resent_With_The_Same_Reference_And_Reaches_The_Person_Once()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-crash", SmsRecipients(1), h.Clock.GetUtcNow()));
        var claimed = await h.Store.ClaimAsync(Channel.Sms, 10, h.Clock.GetUtcNow(), CancellationToken.None);
        var provider = new Channels.SmsGatewayProvider(new SingleClientFactory(), new NotificationsOptions { SmsGatewayUrl = new Uri(h.Sms.HttpAddress, "/api/sms") });
        await provider.SendAsync(claimed[0].Message, CancellationToken.None);  // sent, then the process "dies" before recording it

        Assert.Equal(1, await h.Store.RecoverInFlightAsync(CancellationToken.None));
        await h.DispatchUntilIdleAsync();

        var stats = await h.SmsStatsAsync();
        Assert.Equal(1, stats.Messages);
        Assert.Equal(1, stats.Duplicates);
        Assert.Equal((long)DeliveryStatus.Sent, await h.ScalarAsync("SELECT status FROM deliveries"));
    }

    private sealed class SingleClientFactory : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }

    [Fact]
    public async Task Each_Person_Gets_The_Text_In_Their_Language_Else_French()
    {
        await using var h = await StartAsync();
        var request = Request("alert-lang", [Recipient("reg-fr", (Channel.Sms, "+33600000001")), Recipient("reg-en", (Channel.Sms, "+33600000002")),
            Recipient("reg-none", (Channel.Sms, "+33600000003"))], h.Clock.GetUtcNow());
        request.Recipients[1].Language = Language.En;
        request.Recipients[2].Language = Language.Unspecified;
        var englishOnly = Request("alert-lang-en", [Recipient("reg-fr-2", (Channel.Sms, "+33600000004"))], h.Clock.GetUtcNow());
        englishOnly.Messages.RemoveAt(0);
        await h.IntakeAsync(request);
        await h.IntakeAsync(englishOnly);

        Assert.Equal(4, await h.DispatchUntilIdleAsync());

        var texts = (await h.SmsMessagesAsync()).ToDictionary(m => m.To, m => m.Text);
        Assert.Equal("Alerte: Restez chez vous.", texts["+33600000001"]);
        Assert.Equal("Alert: Stay at home.", texts["+33600000002"]);
        Assert.Equal("Alerte: Restez chez vous.", texts["+33600000003"]);
        Assert.Equal("Alert: Stay at home.", texts["+33600000004"]);   // no French text: the first there is
    }

    [Fact]
    public async Task A_Provider_Call_Past_The_Timeout_Is_Retried_And_The_Calls_Around_It_Are_Not_Cut_Short()
    {
        var gateway = new StallingWebhookGateway();
        await using var h = await StartAsync(
            new Dictionary<string, string> { ["Notifications:ProviderTimeout"] = "00:00:00.3", ["Notifications:WebhookRatePerSecond"] = "100000" },
            services: s => s.AddSingleton<IChannelProvider>(gateway));
        var recipients = Enumerable.Range(0, 100).Select(i => Recipient($"reg-{i}", (Channel.Webhook, i % 10 == 3 ? $"stall-{i}" : $"endpoint-{i}")));
        await h.IntakeAsync(Request("alert-timeout", recipients, h.Clock.GetUtcNow()));

        // One pass claims all 100: 90 answer at once (on timeout sources reused between calls), 10 stall until their timeout.
        Assert.Equal(100, await h.Dispatcher.RunOnceAsync(CancellationToken.None));

        Assert.Equal(10, gateway.TimedOut);
        Assert.Equal(90, await h.ScalarAsync($"SELECT COUNT(*) FROM deliveries WHERE status = {(int)DeliveryStatus.Sent}"));
        Assert.Equal(10, await h.ScalarAsync(
            $"SELECT COUNT(*) FROM deliveries WHERE status = {(int)DeliveryStatus.Queued} AND reason = 'Webhook provider timeout' AND address_attempts = 1 AND recipient_id LIKE '%3'"));
    }

    /// <summary>A webhook endpoint that answers at once, except addresses starting "stall-", which never answer.</summary>
    private sealed class StallingWebhookGateway : IChannelProvider
    {
        private int _timedOut;

        public int TimedOut => Volatile.Read(ref _timedOut);

        public Channel Channel => Channel.Webhook;

        public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            if (!message.Address.Value.StartsWith("stall-", StringComparison.Ordinal))
            {
                await Task.Yield();
                return SendResult.Ok;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref _timedOut);
                throw;
            }

            return SendResult.Ok;
        }
    }
}
