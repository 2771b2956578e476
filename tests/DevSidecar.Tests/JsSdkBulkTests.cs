using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Dapr.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// Bulk subscribe as the Dapr JS SDK's HTTP server does it (DAPR-CONTRACT.md §3.1; js-sdk
/// HTTPServerImpl.ts): <c>/dapr/subscribe</c> with lower-case keys, generated paths, stringified
/// metadata and <c>bulkSubscribe</c>; the handler reads <c>entries[].event.data</c> when the entry's
/// contentType is exactly application/cloudevents+json and base64-decodes <c>event</c> when it is
/// application/octet-stream (raw payload), and answers <c>{"statuses":[{"status","entryId"}]}</c>.
/// </summary>
public sealed class JsSdkBulkTests
{
    [Fact]
    public async Task JsSdkShapedBulkSubscriber_GetsCloudEventsAndRawPayloads_AndAcknowledges()
    {
        await using var redis = await RedisServer.StartAsync();
        var db = (await redis.ConnectAsync()).GetDatabase();
        using var resources = new TempDirectory();
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint, "crisis-pubsub");
        var received = new ConcurrentQueue<(string Path, string ContentType, string Data)>();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = FreePort.Next();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1));
        await using var app = builder.Build();
        // What the JS SDK's generateDaprPubSubSubscription returns for
        // bulkSubscribeWithConfig("crisis-pubsub", topic, cb, 10, 200) (+ metadata { rawPayload: true }).
        app.MapGet("dapr/subscribe", () => Results.Text("""
            [
              {"pubsubname":"crisis-pubsub","topic":"js-bulk","route":"/crisis-pubsub--js-bulk--default",
               "bulkSubscribe":{"enabled":true,"maxMessagesCount":10,"maxAwaitDurationMs":200}},
              {"pubsubname":"crisis-pubsub","topic":"js-raw","metadata":{"rawPayload":"true"},"route":"/crisis-pubsub--js-raw--default",
               "bulkSubscribe":{"enabled":true,"maxMessagesCount":10,"maxAwaitDurationMs":200}}
            ]
            """, "application/json"));
        foreach (var path in new[] { "crisis-pubsub--js-bulk--default", "crisis-pubsub--js-raw--default" })
        {
            app.MapPost(path, async (HttpRequest request) =>
            {
                var body = (JsonObject)(await JsonNode.ParseAsync(request.Body))!;
                var statuses = new JsonArray();
                foreach (var entry in body["entries"]!.AsArray().OfType<JsonObject>())
                {
                    var contentType = (string?)entry["contentType"];
                    var data = contentType switch
                    {
                        "application/octet-stream" => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((string)entry["event"]!)),
                        "application/cloudevents+json" => entry["event"]!["data"]!.ToJsonString(),
                        _ => "",
                    };
                    received.Enqueue((path, contentType ?? "", data));
                    statuses.Add(new JsonObject { ["status"] = "SUCCESS", ["entryId"] = (string)entry["entryId"]! });
                }

                return Results.Text(new JsonObject { ["statuses"] = statuses }.ToJsonString(), "application/json");
            });
        }

        await app.StartAsync();
        await using var publisher = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "js-pub", ResourcesPaths = [resources.Path] });
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "js-sub", AppPort = port, ResourcesPaths = [resources.Path] });
        await sidecar.WaitForAppAsync();
        using var client = new DaprClientBuilder().UseGrpcEndpoint(publisher.GrpcEndpoint).UseHttpEndpoint(publisher.HttpEndpoint).Build();

        var marker = Guid.NewGuid().ToString("N");
        await client.BulkPublishEventAsync("crisis-pubsub", "js-bulk", [new Payload(marker + "-a"), new Payload(marker + "-b")]);
        await client.PublishEventAsync("crisis-pubsub", "js-raw", new Payload(marker + "-raw"), new Dictionary<string, string> { ["rawPayload"] = "true" });

        await Eventually.TrueAsync(() => received.Count(r => r.Data.Contains(marker, StringComparison.Ordinal)) >= 3);
        var cloudEvents = received.Where(r => r.Path.Contains("js-bulk", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, cloudEvents.Count);
        Assert.All(cloudEvents, r => Assert.Equal("application/cloudevents+json", r.ContentType));
        Assert.Equal([marker + "-a", marker + "-b"], cloudEvents.Select(r => (string)JsonNode.Parse(r.Data)!["id"]!).Order());
        var raw = Assert.Single(received, r => r.Path.Contains("js-raw", StringComparison.Ordinal));
        Assert.Equal("application/octet-stream", raw.ContentType);
        Assert.Equal(marker + "-raw", (string)JsonNode.Parse(raw.Data)!["id"]!);
        foreach (var topic in new[] { "js-bulk", "js-raw" })
        {
            await Eventually.TrueAsync(async () => (long)((StackExchange.Redis.RedisResult[])(await db.ExecuteAsync("XPENDING", topic, "js-sub"))!)[0] == 0,
                because: $"{topic} acknowledged");
        }
    }
}
