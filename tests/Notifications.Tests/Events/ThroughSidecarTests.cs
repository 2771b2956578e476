using System.Globalization;
using System.Text;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Testing;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Events;

/// <summary>The whole path as deployed: a request published through the dev sidecar into real Redis,
/// delivered to the service's subscription, sent over the SMS gateway, and the status trail published
/// back through the outbox and the sidecar onto the status topic.</summary>
public sealed class ThroughSidecarTests
{
    [Fact]
    public async Task A_Published_Request_Is_Delivered_Once_Even_When_Redelivered_And_Statuses_Come_Back_In_Batches()
    {
        await using var redis = await RedisServer.StartAsync();
        using var resources = new TempDirectory("notif-resources");
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
        var appPort = FreePort.Next();
        var sidecarHttp = FreePort.Next();
        var sidecarGrpc = FreePort.Next();
        await using var h = await StartAsync(new Dictionary<string, string>
        {
            ["DAPR_HTTP_PORT"] = sidecarHttp.ToString(CultureInfo.InvariantCulture),
            ["DAPR_GRPC_PORT"] = sidecarGrpc.ToString(CultureInfo.InvariantCulture),
            ["Notifications:StatusFlushInterval"] = "00:00:00.2",
        }, dispatcherLoop: true, httpPort: appPort);
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "notifications",
            AppPort = appPort,
            HttpPort = sidecarHttp,
            GrpcPort = sidecarGrpc,
            ResourcesPaths = [resources.Path],
        });
        await sidecar.WaitForAppAsync();

        var request = Request("alert-e2e", SmsRecipients(5), DateTimeOffset.UtcNow);
        for (var i = 0; i < 2; i++)
        {
            // Published twice with the same CloudEvent id, as a producer retrying after a lost ack would.
            using var content = new StringContent(ProtoJson.Format(request), Encoding.UTF8, "application/json");
            using var response = await h.Http.PostAsync(
                new Uri($"{sidecar.HttpEndpoint}/v1.0/publish/{Topics.PubSub}/{Topics.NotificationRequested}?metadata.cloudevent.id={request.EventId}"), content);
            response.EnsureSuccessStatusCode();
        }

        var db = (await redis.ConnectAsync()).GetDatabase();
        var sentUpdates = await PollAsync(async () =>
        {
            var entries = await db.StreamRangeAsync(Topics.NotificationStatusChanged);
            return entries.SelectMany(e => e.Values).Select(v => v.Value.ToString())
                .Sum(v => CountOf(v, "DELIVERY_STATUS_SENT"));
        }, n => n >= 5);

        Assert.Equal(5, sentUpdates);
        Assert.Equal(5, (await h.SmsStatsAsync()).Messages);
        Assert.Equal(5, await h.ScalarAsync("SELECT COUNT(*) FROM deliveries"));
        Assert.True(await db.StreamLengthAsync(Topics.NotificationStatusChanged) < 10, "status updates travel in batches, not one event per message");
    }

    private static int CountOf(string text, string word)
    {
        var n = 0;
        for (var i = text.IndexOf(word, StringComparison.Ordinal); i >= 0; i = text.IndexOf(word, i + word.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static async Task<int> PollAsync(Func<Task<int>> read, Func<int, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }
}
