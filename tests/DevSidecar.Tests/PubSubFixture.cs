using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using Dapr;
using Dapr.Client;
using StackExchange.Redis;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>The JSON payload the tests publish; <see cref="Id"/> makes each test's events unique.</summary>
public sealed record Payload(string Id, string Kind = "", int Level = 0);

/// <summary>
/// One redis-server, a publish-only sidecar ("publisher", DAPR_API_TOKEN) and a subscriber app with
/// its sidecar ("subscriber", APP_API_TOKEN), shared by the tests of the "pubsub" collection.
/// Topics and what the subscriber app does with them are fixed here, because daprd reads
/// programmatic subscriptions once, at startup.
/// </summary>
public sealed class PubSubFixture : IAsyncLifetime, IDisposable
{
    public const string PubSub = "crisis-pubsub";
    public const string PublisherToken = "publisher-token";
    public const string AppToken = "app-token";

    private readonly TempDirectory _resources = new("dev-sidecar-res");

    public RedisServer Redis { get; private set; } = null!;
    public DevSidecarProcess Publisher { get; private set; } = null!;
    public DevSidecarProcess Subscriber { get; private set; } = null!;
    public SubscriberApp App { get; private set; } = null!;
    public DaprClient Client { get; private set; } = null!;
    public HttpClient Http { get; } = new();
    public IDatabase Db { get; private set; } = null!;

    /// <summary>Attempts per payload id, for handlers that fail first and succeed later.</summary>
    public ConcurrentDictionary<string, int> Attempts { get; } = new();

    /// <summary>Payloads the typed handler of "plain" received (after UseCloudEvents).</summary>
    public ConcurrentQueue<Payload> Plain { get; } = new();

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Db = (await Redis.ConnectAsync()).GetDatabase();
        DevSidecarProcess.WritePubSubComponent(_resources.Path, Redis.EndPoint, PubSub, new Dictionary<string, string>
        {
            ["processingTimeout"] = "2s",
            ["redeliverInterval"] = "500ms",
            ["protectedTopics"] = "protected",
        });
        DevSidecarProcess.WritePubSubComponent(_resources.Path, Redis.EndPoint, "trimmed-pubsub", new Dictionary<string, string>
        {
            ["maxLenApprox"] = "10",
        });
        File.WriteAllText(Path.Combine(_resources.Path, "subscriptions.yaml"), """
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: declared
            spec:
              pubsubname: crisis-pubsub
              topic: declared
              routes:
                rules:
                - match: event.type == "special"
                  path: /events/declared-special
                default: /events/declared
            scopes:
            - subscriber
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Subscription
            metadata:
              name: declared-v1
            spec:
              pubsubname: crisis-pubsub
              topic: declared-v1
              route: /events/declared-v1
            scopes:
            - subscriber
            ---
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: not-for-me
            spec:
              pubsubname: crisis-pubsub
              topic: other-app-topic
              routes:
                default: /events/other-app-topic
            scopes:
            - some-other-app
            ---
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: missing-route
            spec:
              pubsubname: crisis-pubsub
              topic: missing-route
              routes:
                default: /events/does-not-exist
            """);

        Publisher = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "publisher",
            ResourcesPaths = [_resources.Path],
            DaprApiToken = PublisherToken,
        });
        Client = new DaprClientBuilder()
            .UseGrpcEndpoint(Publisher.GrpcEndpoint)
            .UseHttpEndpoint(Publisher.HttpEndpoint)
            .UseDaprApiToken(PublisherToken)
            .Build();
        Http.BaseAddress = new Uri(Publisher.HttpEndpoint + "/");
        Http.DefaultRequestHeaders.Add("dapr-api-token", PublisherToken);

        App = await SubscriberApp.StartAsync(Map);
        Subscriber = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "subscriber",
            AppPort = App.Port,
            ResourcesPaths = [_resources.Path],
            AppApiToken = AppToken,
        });
        await Subscriber.WaitForAppAsync();
    }

    private int Attempt(Payload payload) => Attempts.AddOrUpdate(payload.Id, 1, (_, n) => n + 1);

    private void Map(WebApplication app)
    {
        app.MapPost("events/plain", (Payload payload) =>
        {
            Plain.Enqueue(payload);
            return Results.Ok();
        }).WithTopic(PubSub, "plain");
        app.MapPost("events/routed-a", () => Results.Ok()).WithTopic(new TopicOptions { PubsubName = PubSub, Name = "routed", Match = "event.type == \"kind-a\"", Priority = 1 });
        app.MapPost("events/routed-high", () => Results.Ok())
            .WithTopic(new TopicOptions
            {
                PubsubName = PubSub,
                Name = "routed",
                Match = "event.data.level >= 3 && !(event.data.kind == \"ignore\") || event.data.kind == \"vip\"",
                Priority = 2,
            });
        app.MapPost("events/routed-default", () => Results.Ok()).WithTopic(PubSub, "routed");
        app.MapPost("events/rules-only", () => Results.Ok()).WithTopic(new TopicOptions { PubsubName = PubSub, Name = "rules-only", Match = "event.type == \"wanted\"", Priority = 1 });
        app.MapPost("events/dropped", () => Results.Json(new { status = "DROP" }))
            .WithTopic(new TopicOptions { PubsubName = PubSub, Name = "dropped", DeadLetterTopic = "dropped-dead" });
        app.MapPost("events/dropped-dead", () => Results.Ok()).WithTopic(PubSub, "dropped-dead");
        app.MapPost("events/drop-no-dlq", () => Results.Json(new { status = "DROP" })).WithTopic(PubSub, "drop-no-dlq");
        app.MapPost("events/retried", (Payload p) => Attempt(p) == 1 ? Results.Json(new { status = "RETRY" }) : Results.Json(new { status = "SUCCESS" }))
            .WithTopic(PubSub, "retried");
        app.MapPost("events/unknown-status", (Payload p) => Attempt(p) == 1 ? Results.Json(new { status = "MAYBE" }) : Results.Ok())
            .WithTopic(PubSub, "unknown-status");
        app.MapPost("events/flaky", (Payload p) => Attempt(p) == 1 ? Results.StatusCode(500) : Results.Ok())
            .WithTopic(PubSub, "flaky");
        app.MapPost("events/failing", () => Results.StatusCode(500))
            .WithTopic(new TopicOptions { PubsubName = PubSub, Name = "failing", DeadLetterTopic = "failing-dead" });
        app.MapPost("events/failing-dead", () => Results.Ok()).WithTopic(PubSub, "failing-dead");
        app.MapPost("events/not-json", () => Results.Ok())
            .WithTopic(new TopicOptions { PubsubName = PubSub, Name = "not-json", DeadLetterTopic = "not-json-dead" });
        app.MapPost("events/raw", () => Results.Ok()).WithTopic(PubSub, "raw", enableRawPayload: true);
        app.MapPost("events/expiring", () => Results.Ok()).WithTopic(PubSub, "expiring");
        app.MapPost("events/slow", async (Payload p) =>
        {
            // Held until the test creates the release key: lets a test look at Redis mid-delivery.
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(Path.GetTempPath(), "dev-sidecar-release-" + p.Id)));
            return Results.Ok();
        }).WithTopic(PubSub, "slow");
        app.MapPost("events/protected", () => Results.Ok()).WithTopic(PubSub, "protected");
        app.MapPost("events/declared", () => Results.Ok());
        app.MapPost("events/declared-special", () => Results.Ok());
        app.MapPost("events/declared-v1", () => Results.Ok());
    }

    /// <summary>Publishes over the HTTP API of the publisher sidecar.</summary>
    public async Task<HttpResponseMessage> PostAsync(string path, string body, string? contentType = "application/json")
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return await Http.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    /// <summary>The stream entries of a topic whose data contains <paramref name="marker"/>: (id, fields).</summary>
    public async Task<List<(string Id, Dictionary<string, string> Fields)>> EntriesAsync(string topic, string marker)
    {
        var entries = await Db.StreamRangeAsync(topic);
        return [.. entries
            .Select(e => (Id: (string)e.Id!, Fields: e.Values.ToDictionary(v => (string)v.Name!, v => (string)v.Value!)))
            .Where(e => e.Fields.TryGetValue("data", out var d) && d.Contains(marker, StringComparison.Ordinal))];
    }

    /// <summary>Number of entries of <paramref name="topic"/> pending (delivered, not acknowledged) for the group.</summary>
    public async Task<long> PendingAsync(string topic, string group = "subscriber")
    {
        var summary = (RedisResult[])(await Db.ExecuteAsync("XPENDING", topic, group))!;
        return (long)summary[0];
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        Http.Dispose();
        await Subscriber.DisposeAsync();
        await App.DisposeAsync();
        await Publisher.DisposeAsync();
        await Redis.DisposeAsync();
        _resources.Dispose();
    }

    public void Dispose() => _resources.Dispose();
}

[CollectionDefinition("pubsub")]
public sealed class PubSubGroup : ICollectionFixture<PubSubFixture>;
