using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.V1;
using Dcis.Crisis.Shared.Security;
using Grpc.Core;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Grpc;

public sealed class InboxTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WatchInbox_Streams_History_Then_Live_Messages_And_Resumes_Without_Loss_Or_Duplicates()
    {
        await using var h = await StartAsync();
        var client = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.Registrant, registrantId: "reg-1")));
        for (var v = 1; v <= 3; v++)
        {
            await h.IntakeAsync(Request("alert-inbox", [Recipient("reg-1", (Channel.AppInbox, "reg-1")), Recipient("reg-2", (Channel.AppInbox, "reg-2"))], h.Clock.GetUtcNow(), version: v));
        }

        await h.DispatchUntilIdleAsync();

        var received = new List<InboxMessage>();
        using (var cts = new CancellationTokenSource(Generous))
        using (var call = client.WatchInbox(new WatchInboxRequest(), cancellationToken: cts.Token))
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.True(await call.ResponseStream.MoveNext(cts.Token));
                received.Add(call.ResponseStream.Current.Message);
            }

            // Live: a new version arrives while the stream is open.
            await h.IntakeAsync(Request("alert-inbox", [Recipient("reg-1", (Channel.AppInbox, "reg-1"))], h.Clock.GetUtcNow(), version: 4));
            await h.DispatchUntilIdleAsync();
            Assert.True(await call.ResponseStream.MoveNext(cts.Token));
            received.Add(call.ResponseStream.Current.Message);
        }

        Assert.Equal([1L, 2L, 3L, 4L], received.Select(m => m.AlertVersion));
        Assert.All(received, m => Assert.Equal("Alerte", m.Subject));

        // Disconnected; two more arrive; resume after the second message.
        for (var v = 5; v <= 6; v++)
        {
            await h.IntakeAsync(Request("alert-inbox", [Recipient("reg-1", (Channel.AppInbox, "reg-1"))], h.Clock.GetUtcNow(), version: v));
        }

        await h.DispatchUntilIdleAsync();
        var resumed = new List<long>();
        using (var cts = new CancellationTokenSource(Generous))
        using (var call = client.WatchInbox(new WatchInboxRequest { AfterCursor = received[1].Cursor }, cancellationToken: cts.Token))
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.True(await call.ResponseStream.MoveNext(cts.Token));
                resumed.Add(call.ResponseStream.Current.Message.AlertVersion);
            }
        }

        Assert.Equal([3L, 4L, 5L, 6L], resumed);
        // The stream marks a message delivered after writing it, so the client can read it first: wait for the mark.
        await Dcis.Crisis.Testing.Eventually.TrueAsync(async () =>
            await h.ScalarAsync($"SELECT COUNT(*) FROM deliveries WHERE recipient_id = 'reg-1' AND status = {(int)DeliveryStatus.Delivered}") == 6,
            because: "all six inbox messages marked delivered");
    }

    [Fact]
    public async Task MarkRead_Puts_A_Read_Receipt_In_The_Status_Trail()
    {
        await using var h = await StartAsync();
        var client = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.Registrant, registrantId: "reg-1")));
        await h.IntakeAsync(Request("alert-read", [Recipient("reg-1", (Channel.AppInbox, "reg-1"))], h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();
        var cursor = await h.ScalarAsync("SELECT cursor FROM app_inbox");

        var first = await client.MarkReadAsync(new MarkReadRequest { Cursor = cursor });
        var again = await client.MarkReadAsync(new MarkReadRequest { Cursor = cursor });

        Assert.Equal(first.ReadAt, again.ReadAt);
        Assert.Equal((long)DeliveryStatus.Read, await h.ScalarAsync("SELECT status FROM deliveries"));
        Assert.Equal(1, await h.ScalarAsync($"SELECT COUNT(*) FROM status_trail WHERE status = {(int)DeliveryStatus.Read}"));
        await h.Housekeeping.FlushStatusAsync(CancellationToken.None);
        Assert.Equal(1, await h.ScalarAsync("SELECT COUNT(*) FROM outbox WHERE data LIKE '%DELIVERY_STATUS_READ%'"));
    }

    [Fact]
    public async Task MarkRead_Of_Another_Registrants_Message_Is_NotFound()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-read", [Recipient("reg-1", (Channel.AppInbox, "reg-1"))], h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();
        var cursor = await h.ScalarAsync("SELECT cursor FROM app_inbox");
        var intruder = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.Registrant, registrantId: "reg-2")));

        var error = await Assert.ThrowsAsync<RpcException>(() => intruder.MarkReadAsync(new MarkReadRequest { Cursor = cursor }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal((long)DeliveryStatus.Sent, await h.ScalarAsync("SELECT status FROM deliveries"));
    }

    [Fact]
    public async Task MarkRead_Without_A_Cursor_Is_InvalidArgument_Naming_The_Field()
    {
        await using var h = await StartAsync();
        var client = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.Registrant, registrantId: "reg-1")));

        var error = await Assert.ThrowsAsync<RpcException>(() => client.MarkReadAsync(new MarkReadRequest()).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("cursor", error.Status.Detail + string.Join(',', error.Trailers.Select(t => t.Key)), StringComparison.Ordinal);
    }
}
