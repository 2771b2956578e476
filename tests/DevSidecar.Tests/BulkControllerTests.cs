using System.Collections.Concurrent;
using Dapr;
using Dapr.AspNetCore;
using Dapr.Client;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// A controller action with the SDK's <c>[Topic]</c> + <c>[BulkSubscribe]</c> attributes (the other bulk
/// tests use <c>WithBulkSubscribe</c>): MapSubscribeHandler advertises bulkSubscribe, the sidecar batches.
/// </summary>
[ApiController]
public sealed class BulkSubscribeController : ControllerBase
{
    public const string Topic = "controller-bulk";

    /// <summary>(entry id, payload id) of every entry the action handled.</summary>
    public static ConcurrentQueue<(string EntryId, string PayloadId)> Handled { get; } = new();

    [Topic(BulkFixture.PubSub, Topic)]
    [BulkSubscribe(Topic, 10, 100)]
    [HttpPost("events/" + Topic)]
    public ActionResult<BulkSubscribeAppResponse> Receive([FromBody] BulkSubscribeMessage<BulkMessageModel<Payload>> message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var statuses = new List<BulkSubscribeAppResponseEntry>();
        foreach (var entry in message.Entries)
        {
            Handled.Enqueue((entry.EntryId, entry.Event.Data.Id));
            statuses.Add(new BulkSubscribeAppResponseEntry(entry.EntryId, BulkSubscribeAppResponseStatus.SUCCESS));
        }

        return new BulkSubscribeAppResponse(statuses);
    }
}

public sealed class BulkControllerTests
{
    [Fact]
    public async Task Bulk_ControllerWithBulkSubscribeAttribute_GetsBatches_AndIsAcknowledged()
    {
        await using var redis = await RedisServer.StartAsync();
        var db = (await redis.ConnectAsync()).GetDatabase();
        using var resources = new TempDirectory();
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = FreePort.Next();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1));
        builder.Services.AddControllers().AddApplicationPart(typeof(BulkSubscribeController).Assembly).AddDapr();
        await using var app = builder.Build();
        app.UseCloudEvents();
        app.MapControllers();
        app.MapSubscribeHandler();
        await app.StartAsync();
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "controller-bulk", AppPort = port, ResourcesPaths = [resources.Path] });
        await sidecar.WaitForAppAsync();
        using var client = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        var marker = Guid.NewGuid().ToString("N");
        var ids = Enumerable.Range(0, 25).Select(i => $"{marker}-{i:00}").ToList();

        await client.BulkPublishEventAsync(BulkFixture.PubSub, BulkSubscribeController.Topic, ids.Select(id => new Payload(id)).ToList());

        await Eventually.TrueAsync(() => ids.All(id => BulkSubscribeController.Handled.Any(h => h.PayloadId == id)), null, () => sidecar.Output);
        await Eventually.TrueAsync(async () => (long)((StackExchange.Redis.RedisResult[])(await db.ExecuteAsync("XPENDING", BulkSubscribeController.Topic, "controller-bulk"))!)[0] == 0);
        // Each entry handled once: every batch answer was understood and acknowledged on first delivery.
        Assert.Equal(25, BulkSubscribeController.Handled.Count(h => h.PayloadId.StartsWith(marker, StringComparison.Ordinal)));
        Assert.Contains("bulk: up to 10 entries or 100 ms", sidecar.Output, StringComparison.Ordinal);
    }
}
