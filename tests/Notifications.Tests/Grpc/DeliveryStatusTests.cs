using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.V1;
using Dcis.Crisis.Shared.Security;
using Grpc.Core;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Grpc;

public sealed class DeliveryStatusTests
{
    [Theory]
    [InlineData(Roles.ConsularOfficer)]
    [InlineData(Roles.Analyst)]
    [InlineData(Roles.CrisisCellViewer)]
    public async Task GetDeliveryStatus_Counts_By_Channel_And_Status(string role)
    {
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:SmsRatePerSecond"] = "4" });
        await h.IntakeAsync(Request("alert-s", SmsRecipients(10), h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();
        var client = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(role)));

        var status = await client.GetDeliveryStatusAsync(new GetDeliveryStatusRequest { Source = "consular", SourceAlertId = "alert-s" });

        Assert.Equal(10, status.Total);
        Assert.Equal(1, status.LatestVersion);
        Assert.Equal(4, status.Counts.Single(c => c.Status == DeliveryStatus.Sent).Count);
        Assert.Equal(6, status.Counts.Single(c => c.Status == DeliveryStatus.Queued).Count);
        Assert.All(status.Counts, c => Assert.Equal(Channel.Sms, c.Channel));
    }

    [Fact]
    public async Task ListDeliveries_Pages_Through_Recipients_Without_Contact_Details()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-l", SmsRecipients(5), h.Clock.GetUtcNow()));
        var client = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.ConsularOfficer)));

        var first = await client.ListDeliveriesAsync(new ListDeliveriesRequest { Source = "consular", SourceAlertId = "alert-l", PageSize = 3 });
        var second = await client.ListDeliveriesAsync(new ListDeliveriesRequest { Source = "consular", SourceAlertId = "alert-l", PageSize = 3, PageToken = first.NextPageToken });

        Assert.Equal(["reg-0", "reg-1", "reg-2", "reg-3", "reg-4"], first.Deliveries.Concat(second.Deliveries).Select(d => d.RecipientId));
        Assert.Empty(second.NextPageToken);
        Assert.DoesNotContain("+33", first.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetDeliveryStatus_Without_An_Alert_Id_Is_InvalidArgument()
    {
        await using var h = await StartAsync();
        var client = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.Analyst)));

        var error = await Assert.ThrowsAsync<RpcException>(() => client.GetDeliveryStatusAsync(new GetDeliveryStatusRequest { Source = "consular" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Every_Rpc_Refuses_The_Wrong_Role_And_A_Missing_Token()
    {
        await using var h = await StartAsync();
        var registrant = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.Registrant, registrantId: "reg-1")));
        var viewer = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.CrisisCellViewer)));
        var analyst = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.Analyst)));
        var anonymous = new NotificationsService.NotificationsServiceClient(h.Service.Channel());
        var status = new GetDeliveryStatusRequest { Source = "consular", SourceAlertId = "a" };
        var list = new ListDeliveriesRequest { Source = "consular", SourceAlertId = "a" };

        await AssertCode(StatusCode.PermissionDenied, () => registrant.GetDeliveryStatusAsync(status).ResponseAsync);
        await AssertCode(StatusCode.PermissionDenied, () => viewer.ListDeliveriesAsync(list).ResponseAsync);
        await AssertCode(StatusCode.PermissionDenied, () => registrant.ListDeliveriesAsync(list).ResponseAsync);
        await AssertCode(StatusCode.PermissionDenied, () => analyst.MarkReadAsync(new MarkReadRequest { Cursor = 1 }).ResponseAsync);
        await AssertCode(StatusCode.PermissionDenied, async () =>
        {
            using var call = analyst.WatchInbox(new WatchInboxRequest());
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
        await AssertCode(StatusCode.Unauthenticated, () => anonymous.GetDeliveryStatusAsync(status).ResponseAsync);
        await AssertCode(StatusCode.Unauthenticated, () => anonymous.MarkReadAsync(new MarkReadRequest { Cursor = 1 }).ResponseAsync);
    }

    [Fact]
    public async Task A_Registrant_Token_Without_Registrant_Id_Cannot_Watch_An_Inbox()
    {
        await using var h = await StartAsync();
        var client = new NotificationsService.NotificationsServiceClient(h.Service.Channel(h.Service.Token(Roles.Registrant)));

        await AssertCode(StatusCode.PermissionDenied, async () =>
        {
            using var call = client.WatchInbox(new WatchInboxRequest());
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
    }

    private static async Task AssertCode(StatusCode expected, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(expected, error.StatusCode);
    }
}
