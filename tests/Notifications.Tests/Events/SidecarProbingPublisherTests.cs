using Dapr.Client;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Notifications.Events;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Notifications.Tests.Events;

/// <summary>The relay's publisher with no sidecar, then with a real dev sidecar on the same ports (and real Redis).</summary>
public sealed class SidecarProbingPublisherTests
{
    [Fact]
    public async Task Publishes_Without_A_Sidecar_Only_Probe_And_The_First_Retry_After_It_Starts_Publishes()
    {
        var httpPort = FreePort.Next();
        var grpcPort = FreePort.Next();
        using var dapr = new DaprClientBuilder()
            .UseHttpEndpoint($"http://127.0.0.1:{httpPort}")
            .UseGrpcEndpoint($"http://127.0.0.1:{grpcPort}")
            .Build();
        var attempts = new AttemptCounter(new DaprEventPublisher(dapr));
        var publisher = new SidecarProbingPublisher(attempts, dapr);
        var events = Enumerable.Range(0, 3).Select(i =>
        {
            var e = new NotificationStatusChanged { EventId = Guid.NewGuid().ToString(), Source = "consular" };
            e.Updates.Add(new DeliveryStatusUpdate { SourceAlertId = "alert-probe", AlertVersion = 1, RecipientId = $"reg-{i}" });
            return OutgoingEvent.From(Topics.NotificationStatusChanged, e.EventId, e);
        }).ToList();

        // Nothing listens: the first publish and the retries only probe the sidecar; no batch is built for it.
        Assert.True(publisher.Failing);
        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<SidecarUnavailableException>(() => publisher.PublishAsync(events, CancellationToken.None));
        }

        Assert.Equal(0, attempts.Calls);

        await using var redis = await RedisServer.StartAsync();
        using var resources = new TempDirectory("notif-probe-resources");
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "notifications",
            HttpPort = httpPort,
            GrpcPort = grpcPort,
            ResourcesPaths = [resources.Path],
        });

        // The sidecar answers healthy: the next retry is a real publish and succeeds (polled: the gRPC client may need a reconnect).
        var published = false;
        for (var i = 0; i < 600 && !published; i++)
        {
            try
            {
                await publisher.PublishAsync(events, CancellationToken.None);
                published = true;
            }
            catch (Exception ex) when (ex is not SidecarUnavailableException || i < 599)
            {
                await Task.Delay(100);
            }
        }

        Assert.True(published);
        Assert.False(publisher.Failing);
        Assert.True(attempts.Calls >= 1);
        var db = (await redis.ConnectAsync()).GetDatabase();
        var stream = string.Join('\n', (await db.StreamRangeAsync(Topics.NotificationStatusChanged)).SelectMany(e => e.Values).Select(v => v.Value.ToString()));
        Assert.All(events, e => Assert.Contains(e.EventId, stream, StringComparison.Ordinal));

        // The sidecar goes away after a success: the next publish is a real attempt (nothing known to be wrong), its
        // failure makes the following retries probe again.
        await sidecar.KillAsync();
        var before = attempts.Calls;
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => publisher.PublishAsync(events, CancellationToken.None));
        Assert.IsNotType<SidecarUnavailableException>(failure);
        Assert.Equal(before + 1, attempts.Calls);
        Assert.True(publisher.Failing);
        await Assert.ThrowsAsync<SidecarUnavailableException>(() => publisher.PublishAsync(events, CancellationToken.None));
        Assert.Equal(before + 1, attempts.Calls);
    }

    /// <summary>Counts the publishes that reached the real Dapr publisher.</summary>
    private sealed class AttemptCounter(IEventPublisher inner) : IEventPublisher
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task PublishAsync(IReadOnlyList<OutgoingEvent> events, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return inner.PublishAsync(events, cancellationToken);
        }
    }
}
