using System.Collections.Concurrent;
using Dapr;
using Dapr.AspNetCore;
using Dapr.Client;
using StackExchange.Redis;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// Bulk subscribe (DAPR-CONTRACT.md §3.1, §3.2, §4 item 8): one redis-server, a publisher sidecar and a
/// Dapr.AspNetCore subscriber app whose bulk endpoints are mapped with the SDK's <c>WithTopic</c> +
/// <c>WithBulkSubscribe</c> (plus declarative YAML ones), behind its own sidecar. A second component on
/// the same Redis carries an inbound retry policy.
/// </summary>
public sealed class BulkFixture : IAsyncLifetime, IDisposable
{
    public const string PubSub = "crisis-pubsub";
    public const string Resilient = "resilient-pubsub";

    /// <summary>A component with <c>concurrency: 3</c>: daprd's Redis workers cap a bulk batch at 3 entries.</summary>
    public const string Capped = "capped-pubsub";
    public const string AppToken = "bulk-app-token";
    public const string AppId = "bulk-subscriber";

    private readonly TempDirectory _resources = new("dev-sidecar-bulk");

    public RedisServer Redis { get; private set; } = null!;
    public DevSidecarProcess Publisher { get; private set; } = null!;
    public DevSidecarProcess Subscriber { get; private set; } = null!;
    public SubscriberApp App { get; private set; } = null!;
    public DaprClient Client { get; private set; } = null!;
    public IDatabase Db { get; private set; } = null!;

    /// <summary>What the typed SDK handlers received: (topic, entry id, payload), in arrival order.</summary>
    public ConcurrentQueue<(string Topic, string EntryId, Payload Payload)> Received { get; } = new();

    /// <summary>Deliveries per payload id, for handlers that fail first and succeed later.</summary>
    public ConcurrentDictionary<string, int> Attempts { get; } = new();

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Db = (await Redis.ConnectAsync()).GetDatabase();
        var component = new Dictionary<string, string> { ["processingTimeout"] = "2s", ["redeliverInterval"] = "500ms" };
        DevSidecarProcess.WritePubSubComponent(_resources.Path, Redis.EndPoint, PubSub, component);
        DevSidecarProcess.WritePubSubComponent(_resources.Path, Redis.EndPoint, Resilient, component);
        DevSidecarProcess.WritePubSubComponent(_resources.Path, Redis.EndPoint, Capped, new Dictionary<string, string>(component) { ["concurrency"] = "3" });
        File.WriteAllText(Path.Combine(_resources.Path, "resiliency.yaml"), """
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: bulk
            spec:
              policies:
                retries:
                  quick:
                    policy: constant
                    duration: 20ms
                    maxRetries: 3
              targets:
                components:
                  resilient-pubsub:
                    inbound:
                      retry: quick
            """);
        File.WriteAllText(Path.Combine(_resources.Path, "subscriptions.yaml"), """
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: bulk-declared
            spec:
              pubsubname: crisis-pubsub
              topic: bulk-declared
              routes:
                default: /events/bulk-declared
              bulkSubscribe:
                enabled: true
                maxMessagesCount: 5
                maxAwaitDurationMs: 200
            scopes:
            - bulk-subscriber
            ---
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: bulk-routed
            spec:
              pubsubname: crisis-pubsub
              topic: bulk-routed
              routes:
                rules:
                - match: event.data.kind == "a"
                  path: /events/bulk-routed-a
                default: /events/bulk-routed-b
              bulkSubscribe:
                enabled: true
                maxMessagesCount: 50
                maxAwaitDurationMs: 200
            scopes:
            - bulk-subscriber
            """);

        Publisher = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "bulk-publisher", ResourcesPaths = [_resources.Path] });
        Client = new DaprClientBuilder().UseGrpcEndpoint(Publisher.GrpcEndpoint).UseHttpEndpoint(Publisher.HttpEndpoint).Build();
        App = await SubscriberApp.StartAsync(Map);
        Subscriber = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = AppId,
            AppPort = App.Port,
            ResourcesPaths = [_resources.Path],
            AppApiToken = AppToken,
        });
        await Subscriber.WaitForAppAsync();
    }

    private int Attempt(string id) => Attempts.AddOrUpdate(id, 1, (_, n) => n + 1);

    /// <summary>An SDK bulk endpoint on <paramref name="topic"/> that answers each entry with <paramref name="status"/> (null: no status).</summary>
    private void MapBulk(WebApplication app, string topic, int maxMessages, int maxAwaitMs, Func<Payload, BulkSubscribeAppResponseStatus?> status,
        string pubsub = PubSub, string? deadLetterTopic = null)
    {
        app.MapPost("events/" + topic, (BulkSubscribeMessage<BulkMessageModel<Payload>> message) =>
        {
            var statuses = new List<BulkSubscribeAppResponseEntry>();
            foreach (var entry in message.Entries)
            {
                Received.Enqueue((topic, entry.EntryId, entry.Event.Data));
                if (status(entry.Event.Data) is { } s)
                {
                    statuses.Add(new BulkSubscribeAppResponseEntry(entry.EntryId, s));
                }
            }

            return Results.Json(new BulkSubscribeAppResponse(statuses));
        })
        .WithTopic(new TopicOptions { PubsubName = pubsub, Name = topic, DeadLetterTopic = deadLetterTopic })
        .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = topic, MaxMessagesCount = maxMessages, MaxAwaitDurationMs = maxAwaitMs });
    }

    private static BulkSubscribeAppResponseStatus? ByKind(Payload p) => p.Kind switch
    {
        "retry" => BulkSubscribeAppResponseStatus.RETRY,
        "drop" => BulkSubscribeAppResponseStatus.DROP,
        "none" => null,
        _ => BulkSubscribeAppResponseStatus.SUCCESS,
    };

    private void Map(WebApplication app)
    {
        MapBulk(app, "bulk-count", 10, 60_000, _ => BulkSubscribeAppResponseStatus.SUCCESS);
        MapBulk(app, "bulk-await", 100, 200, _ => BulkSubscribeAppResponseStatus.SUCCESS);
        MapBulk(app, "bulk-capped", 100, 200, _ => BulkSubscribeAppResponseStatus.SUCCESS, pubsub: Capped);
        MapBulk(app, "bulk-envelope", 100, 200, _ => BulkSubscribeAppResponseStatus.SUCCESS);
        MapBulk(app, "bulk-status", 10, 200, ByKind);
        MapBulk(app, "bulk-status-dlq", 10, 200, ByKind, deadLetterTopic: "bulk-status-dlq-dead");
        MapBulk(app, "bulk-resilient", 10, 200, p => p.Kind == "retry" && Attempt(p.Id) == 1 ? BulkSubscribeAppResponseStatus.RETRY : BulkSubscribeAppResponseStatus.SUCCESS,
            pubsub: Resilient);
        app.MapPost("events/bulk-404", () => Results.NotFound())
            .WithTopic(new TopicOptions { PubsubName = PubSub, Name = "bulk-404", DeadLetterTopic = "bulk-404-dead" })
            .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = "bulk-404", MaxMessagesCount = 10, MaxAwaitDurationMs = 200 });
        app.MapPost("events/bulk-500", (BulkSubscribeMessage<BulkMessageModel<Payload>> message) =>
        {
            // The first delivery of each entry fails the whole batch with 500; later ones succeed.
            var first = message.Entries.Select(e => Attempt(e.Event.Data.Id)).Any(n => n == 1);
            if (first)
            {
                return Results.StatusCode(500);
            }

            return Results.Json(new BulkSubscribeAppResponse([.. message.Entries.Select(e => new BulkSubscribeAppResponseEntry(e.EntryId, BulkSubscribeAppResponseStatus.SUCCESS))]));
        })
        .WithTopic(PubSub, "bulk-500")
        .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = "bulk-500", MaxMessagesCount = 10, MaxAwaitDurationMs = 200 });
        foreach (var path in new[] { "bulk-declared", "bulk-routed-a", "bulk-routed-b" })
        {
            app.MapPost("events/" + path, (BulkSubscribeMessage<BulkMessageModel<Payload>> message) =>
            {
                foreach (var entry in message.Entries)
                {
                    Received.Enqueue((path, entry.EntryId, entry.Event.Data));
                }

                return Results.Json(new BulkSubscribeAppResponse([.. message.Entries.Select(e => new BulkSubscribeAppResponseEntry(e.EntryId, BulkSubscribeAppResponseStatus.SUCCESS))]));
            });
        }
    }

    /// <summary>The bulk POSTs to <paramref name="path"/> whose body contains <paramref name="marker"/>, as JSON envelopes.</summary>
    public List<(Delivery Delivery, System.Text.Json.Nodes.JsonObject Envelope)> Posts(string path, string marker) =>
        [.. App.To(path, marker).Select(d => (d, (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(d.RawBody)!))];

    /// <summary>The payload ids of the entries of one envelope.</summary>
    public static List<string> Ids(System.Text.Json.Nodes.JsonObject envelope) =>
        [.. envelope["entries"]!.AsArray().Select(e => (string)e!["event"]!["data"]!["id"]!)];

    /// <summary>The stream entries of a topic whose data contains <paramref name="marker"/>: (stream id, payload id).</summary>
    public async Task<List<(string StreamId, string PayloadId)>> EntriesAsync(string topic, string marker)
    {
        var entries = await Db.StreamRangeAsync(topic);
        return [.. entries
            .Where(e => ((string)e["data"]!)?.Contains(marker, StringComparison.Ordinal) == true)
            .Select(e => ((string)e.Id!, (string)System.Text.Json.Nodes.JsonNode.Parse((string)e["data"]!)!["data"]!["id"]!))];
    }

    /// <summary>Stream ids of <paramref name="topic"/> pending (delivered, not acknowledged) for the subscriber's group.</summary>
    public async Task<HashSet<string>> PendingIdsAsync(string topic)
    {
        var pending = (RedisResult[])(await Db.ExecuteAsync("XPENDING", topic, AppId, "-", "+", 10000))!;
        return [.. pending.Select(p => (string)((RedisResult[])p!)[0]!)];
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Subscriber.DisposeAsync();
        await App.DisposeAsync();
        await Publisher.DisposeAsync();
        await Redis.DisposeAsync();
        _resources.Dispose();
    }

    public void Dispose() => _resources.Dispose();
}

[CollectionDefinition("bulk")]
public sealed class BulkGroup : ICollectionFixture<BulkFixture>;
