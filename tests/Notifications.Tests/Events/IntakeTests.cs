using System.Net;
using System.Text;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Events;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Events;

public sealed class IntakeTests
{
    [Fact]
    public async Task A_Batch_Becomes_One_Queued_Delivery_Per_Recipient_And_A_Redelivery_Changes_Nothing()
    {
        await using var h = await StartAsync();
        var request = Request("alert-1", SmsRecipients(1000), h.Clock.GetUtcNow());

        await h.IntakeAsync(request);
        await h.IntakeAsync(request);

        Assert.Equal(1000, await h.ScalarAsync($"SELECT COUNT(*) FROM deliveries WHERE status = {(int)DeliveryStatus.Queued}"));
        Assert.Equal(1000, await h.ScalarAsync("SELECT COUNT(*) FROM status_trail"));
    }

    [Fact]
    public async Task The_Same_Person_In_Another_Event_Of_The_Same_Version_Gets_No_Second_Delivery()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-1", SmsRecipients(10), h.Clock.GetUtcNow()));
        await h.IntakeAsync(Request("alert-1", SmsRecipients(10), h.Clock.GetUtcNow()));
        await h.IntakeAsync(Request("alert-1", SmsRecipients(10), h.Clock.GetUtcNow(), version: 2));

        Assert.Equal(20, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries"));
    }

    [Fact]
    public async Task A_Large_Batch_Repeating_People_Stores_Each_Person_Once_With_One_Trail_Row()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-1", SmsRecipients(100), h.Clock.GetUtcNow()));

        // 650 entries for 600 people, over several insert statements; the first 100 are already queued.
        var result = await h.Store.IntakeAsync(
            Request("alert-1", SmsRecipients(600).Concat(SmsRecipients(50)), h.Clock.GetUtcNow()), Guid.NewGuid().ToString(), h.Clock.GetUtcNow(), CancellationToken.None);

        Assert.Equal(500, result.Queued);
        Assert.Equal(600, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries"));
        Assert.Equal(600, await h.ScalarAsync("SELECT COUNT(DISTINCT idem_key) FROM deliveries"));
        Assert.Equal(600, await h.ScalarAsync("SELECT COUNT(*) FROM status_trail"));
        Assert.Equal(0, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries WHERE addresses IS NULL OR final_at IS NOT NULL"));
    }

    [Fact]
    public async Task A_Batch_Arriving_After_Its_Expiry_Is_Recorded_Expired_And_Never_Queued()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-1", SmsRecipients(3), h.Clock.GetUtcNow(), expiresIn: TimeSpan.FromMinutes(-1)));

        Assert.Equal(3, await h.ScalarAsync($"SELECT COUNT(*) FROM deliveries WHERE status = {(int)DeliveryStatus.Expired} AND final_at IS NOT NULL AND addresses IS NULL"));
        Assert.Equal(3, await h.ScalarAsync($"SELECT COUNT(*) FROM status_trail WHERE status = {(int)DeliveryStatus.Expired}"));
    }

    [Fact]
    public async Task Recipients_Without_A_Usable_Address_Fail_At_Intake()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-1", [Recipient("reg-x")], h.Clock.GetUtcNow()));

        Assert.Equal((long)DeliveryStatus.Failed, await h.ScalarAsync("SELECT status FROM deliveries"));
    }

    [Fact]
    public async Task An_Invalid_Request_Is_Refused_With_The_Field_Named_And_Nothing_Stored()
    {
        await using var h = await StartAsync();
        var request = Request("", SmsRecipients(1), h.Clock.GetUtcNow());
        request.ExpiresAt = null;

        var error = await Assert.ThrowsAsync<ValidationFailedException>(() => h.IntakeAsync(request));

        Assert.Contains(error.Violations, v => v.Field == "source_alert_id");
        Assert.Contains(error.Violations, v => v.Field == "expires_at");
        Assert.Equal(0, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries"));
    }

    [Fact]
    public async Task The_Subscription_Endpoint_Accepts_A_CloudEvent_Like_The_Sidecar_Sends()
    {
        await using var h = await StartAsync();
        var request = Request("alert-http", SmsRecipients(3), h.Clock.GetUtcNow());
        var cloudEvent = $$"""
            {"specversion":"1.0","id":"{{request.EventId}}","source":"consular","type":"{{NotificationRequested.Descriptor.FullName}}",
             "datacontenttype":"application/json","topic":"{{Topics.NotificationRequested}}","pubsubname":"{{Topics.PubSub}}","data":{{ProtoJson.Format(request)}}}
            """;
        using var content = new StringContent(cloudEvent, Encoding.UTF8, "application/cloudevents+json");

        using var response = await h.Http.PostAsync(new Uri(h.Service.HttpAddress, $"/events/{Topics.NotificationRequested}"), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries"));
    }
}
