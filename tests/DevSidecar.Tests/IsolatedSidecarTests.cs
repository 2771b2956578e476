using System.Net;
using System.Text.Json.Nodes;
using Dapr;
using Dapr.Client;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>Rules that need a sidecar of their own: no components, bad rules, resiliency policies.</summary>
public sealed class IsolatedSidecarTests
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Publish_WithNoPubsubConfigured_Answers400_ErrPubsubNotConfigured()
    {
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "lonely" });
        using var http = new HttpClient();

        using var response = await http.PostAsync(new Uri(sidecar.HttpEndpoint + "/v1.0/publish/crisis-pubsub/t"), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("ERR_PUBSUB_NOT_CONFIGURED", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_WithAnUnsupportedCelRule_FailsWithAClearError()
    {
        using var resources = new TempDirectory();
        File.WriteAllText(Path.Combine(resources.Path, "sub.yaml"), """
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: bad
            spec:
              pubsubname: crisis-pubsub
              topic: t
              routes:
                rules:
                - match: size(event.data) > 2
                  path: /x
            """);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "bad-rules", ResourcesPaths = [resources.Path] }));

        Assert.Contains("unsupported CEL expression", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resiliency_RetriesMatchingAndCircuitBreakers_ApplyToDeliveries()
    {
        await using var redis = await RedisServer.StartAsync();
        using var resources = new TempDirectory();
        foreach (var name in new[] { "retrying", "matching", "breaking", "timing" })
        {
            DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint, name);
        }

        File.WriteAllText(Path.Combine(resources.Path, "resiliency.yaml"), """
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: test
            spec:
              policies:
                timeouts:
                  short: 300ms
                retries:
                  twice:
                    policy: constant
                    duration: 10ms
                    maxRetries: 2
                  only503:
                    policy: exponential
                    maxInterval: 50ms
                    maxRetries: 5
                    matching:
                      httpStatusCodes: "503"
                circuitBreakers:
                  fragile:
                    maxRequests: 1
                    timeout: 60s
                    trip: consecutiveFailures > 1
              targets:
                components:
                  retrying:
                    inbound:
                      retry: twice
                  matching:
                    inbound:
                      retry: only503
                  breaking:
                    inbound:
                      circuitBreaker: fragile
                  timing:
                    inbound:
                      timeout: short
            """);
        await using var app = await SubscriberApp.StartAsync(a =>
        {
            foreach (var name in new[] { "retrying", "matching", "breaking" })
            {
                a.MapPost($"events/{name}", () => Results.StatusCode(500))
                    .WithTopic(new TopicOptions { PubsubName = name, Name = name, DeadLetterTopic = name == "breaking" ? null : name + "-dead" });
                a.MapPost($"events/{name}-dead", () => Results.Ok()).WithTopic(name, name + "-dead");
            }

            a.MapPost("events/timing", async () =>
            {
                await Task.Delay(3000);
                return Results.Ok();
            }).WithTopic(new TopicOptions { PubsubName = "timing", Name = "timing", DeadLetterTopic = "timing-dead" });
            a.MapPost("events/timing-dead", () => Results.Ok()).WithTopic("timing", "timing-dead");
        });
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "resilient", AppPort = app.Port, ResourcesPaths = [resources.Path],
        });
        await sidecar.WaitForAppAsync();
        using var client = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        var id = NewId();

        // Seen once under a loaded full run: the timing event's dead letter never arrived. The sidecar's
        // log says which step it stopped at (timeout, dead-letter publish, redelivery).
        try
        {
            await client.PublishEventAsync("retrying", "retrying", new Payload(id));
            await client.PublishEventAsync("matching", "matching", new Payload(id));
            await client.PublishEventAsync("timing", "timing", new Payload(id));

            // Constant retry, maxRetries 2: three attempts, then the dead-letter topic.
            await app.WaitForAsync("events/retrying-dead", id);
            Assert.Equal(3, app.To("events/retrying", id).Count);
            // Matching only 503: a 500 is not retried.
            await app.WaitForAsync("events/matching-dead", id);
            Assert.Single(app.To("events/matching", id));
            // Timeout: the slow answer counts as a failure and dead-letters.
            await app.WaitForAsync("events/timing-dead", id);
            // Breaker trips after two consecutive failures: later events are not attempted while it is open.
            for (var i = 0; i < 2; i++)
            {
                await client.PublishEventAsync("breaking", "breaking", new Payload($"{id}-{i}"));
                await app.WaitForAsync("events/breaking", $"{id}-{i}");
            }

            for (var i = 2; i < 5; i++)
            {
                await client.PublishEventAsync("breaking", "breaking", new Payload($"{id}-{i}"));
            }
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the app received: {string.Join(", ", app.Deliveries.Select(d => d.Path))}; sidecar output:\n{sidecar.Output}", e);
        }

        await Task.Delay(1500);
        Assert.Equal(2, app.To("events/breaking", id).Count);
    }

    [Fact]
    public async Task AppMaxConcurrency_LimitsParallelDeliveries()
    {
        await using var redis = await RedisServer.StartAsync();
        using var resources = new TempDirectory();
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
        var current = 0;
        var max = 0;
        var done = 0;
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("events/c", async () =>
        {
            var now = Interlocked.Increment(ref current);
            InterlockedMax(ref max, now);
            await Task.Delay(30);
            Interlocked.Decrement(ref current);
            Interlocked.Increment(ref done);
            return Results.Ok();
        }).WithTopic(PubSubFixture.PubSub, "c"));
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "capped", AppPort = app.Port, ResourcesPaths = [resources.Path], AppMaxConcurrency = 2,
        });
        await sidecar.WaitForAppAsync();
        using var client = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();

        await client.BulkPublishEventAsync(PubSubFixture.PubSub, "c", Enumerable.Range(0, 20).Select(i => new Payload($"c{i}")).ToList());

        await Eventually.TrueAsync(() => Volatile.Read(ref done) == 20);
        Assert.InRange(max, 1, 2);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    [Fact]
    public async Task Programmatic_JsSdkShape_LowercaseKeysAndLeadingSlash_IsRead()
    {
        await using var redis = await RedisServer.StartAsync();
        using var resources = new TempDirectory();
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint, "p");
        await using var jsApp = await JsShapeAppAsync();
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "js-like", AppPort = jsApp.Urls.Select(u => new Uri(u).Port).First(), ResourcesPaths = [resources.Path],
        });
        await sidecar.WaitForAppAsync();
        using var http = new HttpClient();

        var metadata = JsonNode.Parse(await http.GetStringAsync(new Uri(sidecar.HttpEndpoint + "/v1.0/metadata")))!;

        var subscription = metadata["subscriptions"]!.AsArray().Single()!;
        Assert.Equal("p", (string?)subscription["pubsubname"]);
        Assert.Equal("poison-dead", (string?)subscription["deadLetterTopic"]);
        Assert.Equal("/p--poison--default", (string?)subscription["rules"]!["rules"]![0]!["path"]);
    }

    /// <summary>An app answering /dapr/subscribe exactly as the JS SDK does (DAPR-CONTRACT.md §12).</summary>
    private static async Task<WebApplication> JsShapeAppAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = FreePort.Next();
        var app = builder.Build();
        app.MapGet("/dapr/subscribe", () => Results.Content(
            """[{"pubsubname":"p","topic":"poison","route":"/p--poison--default","deadLetterTopic":"poison-dead","metadata":{}}]""",
            "application/json"));
        app.Urls.Add($"http://127.0.0.1:{port}");
        await app.StartAsync();
        return app;
    }
}
