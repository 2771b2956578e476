using Dapr.AspNetCore;
using Dapr.Client;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// Bulk subscribe with sidecar-level settings that need a sidecar of their own: <c>--app-max-concurrency</c>
/// caps the batches in flight, and a graceful stop (SIGTERM) drains the batch the app is handling.
/// </summary>
public sealed class BulkIsolatedTests
{
    private static RouteHandlerBuilder MapBulk(WebApplication app, string topic, int maxMessages, Func<BulkSubscribeMessage<BulkMessageModel<Payload>>, Task> handle) =>
        app.MapPost("events/" + topic, async (BulkSubscribeMessage<BulkMessageModel<Payload>> message) =>
        {
            await handle(message);
            return Results.Json(new BulkSubscribeAppResponse([.. message.Entries.Select(e => new BulkSubscribeAppResponseEntry(e.EntryId, BulkSubscribeAppResponseStatus.SUCCESS))]));
        })
        .WithTopic(PubSubFixture.PubSub, topic)
        .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = topic, MaxMessagesCount = maxMessages, MaxAwaitDurationMs = 50 });

    [Fact]
    public async Task Bulk_AppMaxConcurrency_CapsTheBatchesInFlight()
    {
        await using var redis = await RedisServer.StartAsync();
        using var resources = new TempDirectory();
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
        var current = 0;
        var max = 0;
        var entries = 0;
        var batches = 0;
        async Task Handle(BulkSubscribeMessage<BulkMessageModel<Payload>> message)
        {
            var now = Interlocked.Increment(ref current);
            int seen;
            while ((seen = Volatile.Read(ref max)) < now && Interlocked.CompareExchange(ref max, now, seen) != seen)
            {
            }

            await Task.Delay(50);
            Interlocked.Decrement(ref current);
            Interlocked.Increment(ref batches);
            Interlocked.Add(ref entries, message.Entries.Count);
        }

        // Two subscriptions: each sends one batch at a time, so without the cap two would be in flight.
        await using var app = await SubscriberApp.StartAsync(a =>
        {
            MapBulk(a, "capped-bulk-a", 5, Handle);
            MapBulk(a, "capped-bulk-b", 5, Handle);
        });
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "capped-bulk", AppPort = app.Port, ResourcesPaths = [resources.Path], AppMaxConcurrency = 1,
        });
        await sidecar.WaitForAppAsync();
        using var client = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();

        await Task.WhenAll(
            client.BulkPublishEventAsync(PubSubFixture.PubSub, "capped-bulk-a", Enumerable.Range(0, 30).Select(i => new Payload($"a{i}")).ToList()),
            client.BulkPublishEventAsync(PubSubFixture.PubSub, "capped-bulk-b", Enumerable.Range(0, 30).Select(i => new Payload($"b{i}")).ToList()));

        await Eventually.TrueAsync(() => Volatile.Read(ref entries) >= 60);
        Assert.True(batches >= 12, $"{batches} batches");
        Assert.Equal(1, max);
    }

    [Fact]
    public async Task Bulk_GracefulStop_DrainsTheBatchTheAppIsHandling()
    {
        await using var redis = await RedisServer.StartAsync();
        var db = (await redis.ConnectAsync()).GetDatabase();
        using var resources = new TempDirectory();
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
        var arrived = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await SubscriberApp.StartAsync(a => MapBulk(a, "draining-bulk", 10, async message =>
        {
            Interlocked.Add(ref arrived, message.Entries.Count);
            await release.Task;
        }));
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "draining-bulk", AppPort = app.Port, ResourcesPaths = [resources.Path],
        });
        await sidecar.WaitForAppAsync();
        using var client = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        await client.BulkPublishEventAsync(PubSubFixture.PubSub, "draining-bulk", Enumerable.Range(0, 3).Select(i => new Payload($"d{i}")).ToList());
        try
        {
            await Eventually.TrueAsync(() => Volatile.Read(ref arrived) >= 3);
        }
        catch (TimeoutException e)
        {
            // Seen once in a full fresh-clone run (2 cores, other suites in parallel), never alone: say
            // what the sidecar and Redis saw, so that the next occurrence can be explained.
            var pending = await db.ExecuteAsync("XPENDING", "draining-bulk", "draining-bulk");
            var length = await db.StreamLengthAsync("draining-bulk");
            throw new TimeoutException($"{Volatile.Read(ref arrived)} of 3 entries reached the app; stream length {length}, pending {((StackExchange.Redis.RedisResult[])pending!)[0]}; sidecar output:\n{sidecar.Output}", e);
        }

        var stopping = sidecar.StopAsync();
        await Eventually.TrueAsync(() => sidecar.Output.Contains("draining in-flight deliveries", StringComparison.Ordinal), because: "the sidecar is stopping");
        Assert.Equal(3, (long)((StackExchange.Redis.RedisResult[])(await db.ExecuteAsync("XPENDING", "draining-bulk", "draining-bulk"))!)[0]);
        release.SetResult();
        await stopping;

        // The batch answered during the stop was acknowledged before the sidecar exited.
        Assert.Equal(0, (long)((StackExchange.Redis.RedisResult[])(await db.ExecuteAsync("XPENDING", "draining-bulk", "draining-bulk"))!)[0]);
    }
}
