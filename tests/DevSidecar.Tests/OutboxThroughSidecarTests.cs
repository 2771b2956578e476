using System.Collections.Concurrent;
using System.Diagnostics;
using Dapr;
using Dapr.Client;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// What the handler of <see cref="OutboxFlowFixture"/> saw and how it misbehaves, per crisis id:
/// fail the first attempt after the effect but before commit, or commit and then hang until released.
/// </summary>
public sealed class OutboxFlowState
{
    public ConcurrentDictionary<string, int> Attempts { get; } = new();
    public ConcurrentQueue<IncomingEvent> Received { get; } = new();
    public ConcurrentDictionary<string, bool> FailFirst { get; } = new();
    public ConcurrentDictionary<string, TaskCompletionSource> Committed { get; } = new();
    public ConcurrentDictionary<string, TaskCompletionSource> Released { get; } = new();
}

/// <summary>
/// A consumer in the shape of the services' own: inbox record and effect in one SQLite transaction,
/// through <see cref="SubscriptionEndpoints.MapSubscription{TEvent, THandler}"/>.
/// </summary>
public sealed class ClosedCrisisCounter(SqliteDatabase db, OutboxFlowState state) : IEventConsumer<CrisisClosed>
{
    public const string Consumer = "closed-crisis-counter";

    public const string Schema = Inbox.Schema + "CREATE TABLE IF NOT EXISTS closed(event_id TEXT NOT NULL, crisis_id TEXT NOT NULL);";

    public async Task HandleAsync(CrisisClosed message, IncomingEvent context, CancellationToken cancellationToken)
    {
        state.Received.Enqueue(context);
        var attempt = state.Attempts.AddOrUpdate(message.CrisisId, 1, (_, n) => n + 1);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        if (!await Inbox.TryRecordAsync(tx, Consumer, context.Id, cancellationToken))
        {
            return;
        }

        await using var effect = connection.Command("INSERT INTO closed(event_id, crisis_id) VALUES ($e, $c)", tx, ("$e", context.Id), ("$c", message.CrisisId));
        await effect.ExecuteNonQueryAsync(cancellationToken);
        if (attempt == 1 && state.FailFirst.ContainsKey(message.CrisisId))
        {
            throw new InvalidOperationException("crash before commit");
        }

        await tx.CommitAsync(cancellationToken);
        if (attempt == 1 && state.Committed.TryGetValue(message.CrisisId, out var committed))
        {
            // Committed but not yet answered: the sidecar has not acknowledged the entry.
            committed.TrySetResult();
            await state.Released[message.CrisisId].Task;
        }
    }
}

/// <summary>
/// DAPR-CONTRACT.md with the foundation's outbox and inbox (services/Shared), end to end: a publisher
/// app's SQLite outbox relayed by <see cref="OutboxRelay"/> through <see cref="DaprEventPublisher"/>
/// (the real Dapr SDK <see cref="DaprClient"/>) into the dev sidecar and a real redis-server; a
/// subscriber app with <c>MapSubscription</c> and the inbox behind its own dev sidecar.
/// </summary>
public sealed class OutboxFlowFixture : IAsyncLifetime, IDisposable
{
    public const string PublisherToken = "outbox-publisher-token";
    public const string AppToken = "outbox-app-token";

    private readonly TempDirectory _dir = new("outbox-flow");
    private readonly OutboxSignal _signal = new();
    private SidecarPublishChannel? _direct;
    private WebApplication? _app;

    public RedisServer Redis { get; private set; } = null!;
    public DevSidecarProcess Publisher { get; private set; } = null!;
    public DevSidecarProcess Subscriber { get; private set; } = null!;
    public DaprClient Client { get; private set; } = null!;
    public SqliteDatabase PublisherDb { get; private set; } = null!;
    public SqliteDatabase SubscriberDb { get; private set; } = null!;
    public OutboxFlowState State { get; } = new();
    public OutboxRelay Relay { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        var resources = Path.Combine(_dir.Path, "resources");
        DevSidecarProcess.WritePubSubComponent(resources, Redis.EndPoint, Topics.PubSub, new Dictionary<string, string>
        {
            // A delivery cut off by a killed sidecar is reclaimed after 3 s.
            ["processingTimeout"] = "3s",
            ["redeliverInterval"] = "500ms",
        });
        File.WriteAllText(Path.Combine(resources, "resiliency.yaml"), """
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: outbox-flow
            spec:
              policies:
                retries:
                  deliveryRetry:
                    policy: constant
                    duration: 50ms
                    maxRetries: 20
              targets:
                components:
                  crisis-pubsub:
                    inbound:
                      retry: deliveryRetry
            """);

        PublisherDb = new SqliteDatabase(Path.Combine(_dir.Path, "publisher.db"));
        await PublisherDb.MigrateAsync(Outbox.Schema + "CREATE TABLE IF NOT EXISTS crises(id TEXT PRIMARY KEY);", CancellationToken.None);
        SubscriberDb = new SqliteDatabase(Path.Combine(_dir.Path, "subscriber.db"));
        await SubscriberDb.MigrateAsync(ClosedCrisisCounter.Schema, CancellationToken.None);

        Publisher = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "outbox-publisher", ResourcesPaths = [resources], DaprApiToken = PublisherToken,
        });
        Client = new DaprClientBuilder()
            .UseGrpcEndpoint(Publisher.GrpcEndpoint)
            .UseHttpEndpoint(Publisher.HttpEndpoint)
            .UseDaprApiToken(PublisherToken)
            .Build();
        // Single events go through the publisher's own PublishEvent channel, bulk ones through DaprClient: both carry the token.
        _direct = new SidecarPublishChannel(Publisher.GrpcEndpoint, PublisherToken);
        Relay = new OutboxRelay(PublisherDb, new DaprEventPublisher(Client, _direct), _signal, NullLogger<OutboxRelay>.Instance,
            new OutboxRelayOptions { PollInterval = TimeSpan.FromHours(1) });

        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["APP_API_TOKEN"] = AppToken;
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1));
        builder.Services.AddSingleton(State);
        builder.Services.AddSingleton(SubscriberDb);
        builder.Services.AddSingleton<ClosedCrisisCounter>();
        _app = builder.Build();
        _app.UseCloudEvents(new CloudEventsMiddlewareOptions { ForwardCloudEventPropertiesAsHeaders = true });
        _app.MapSubscribeHandler();
        _app.MapSubscription<CrisisClosed, ClosedCrisisCounter>(Topics.CrisisClosed);
        await _app.StartAsync();

        Subscriber = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "outbox-subscriber", AppPort = port, ResourcesPaths = [resources], AppApiToken = AppToken,
        });
        await Subscriber.WaitForAppAsync();
    }

    /// <summary>Commits one business row per crisis id and its CrisisClosed event in one transaction.</summary>
    public async Task<List<string>> CommitAsync(params string[] crisisIds)
    {
        var eventIds = crisisIds.Select(_ => Guid.NewGuid().ToString()).ToList();
        await using var connection = await PublisherDb.OpenAsync(CancellationToken.None);
        await using var tx = connection.BeginTransaction();
        for (var i = 0; i < crisisIds.Length; i++)
        {
            await using var insert = connection.Command("INSERT INTO crises(id) VALUES ($id)", tx, ("$id", crisisIds[i]));
            await insert.ExecuteNonQueryAsync();
            await Outbox.AddAsync(tx, Topics.CrisisClosed, eventIds[i],
                new CrisisClosed { EventId = eventIds[i], CrisisId = crisisIds[i], Version = 2, ClosedBy = "analyst-1" }, CancellationToken.None);
        }

        await tx.CommitAsync();
        return eventIds;
    }

    /// <summary>The effects the subscriber committed for a crisis id: one row per applied event.</summary>
    public async Task<List<string>> AppliedAsync(string crisisId)
    {
        await using var connection = await SubscriberDb.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT event_id FROM closed WHERE crisis_id = $c", null, ("$c", crisisId));
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>XPENDING count of the subscriber's group on crisis-closed.</summary>
    public async Task<long> PendingAsync()
    {
        var db = (await Redis.ConnectAsync()).GetDatabase();
        return (long)((StackExchange.Redis.RedisResult[])(await db.ExecuteAsync("XPENDING", Topics.CrisisClosed, "outbox-subscriber"))!)[0];
    }

    /// <summary>Whether a stream entry carrying <paramref name="eventId"/> is pending (delivered, not acknowledged).</summary>
    public async Task<bool> IsPendingAsync(string eventId)
    {
        var db = (await Redis.ConnectAsync()).GetDatabase();
        var pending = ((StackExchange.Redis.RedisResult[])(await db.ExecuteAsync("XPENDING", Topics.CrisisClosed, "outbox-subscriber", "-", "+", 10000))!)
            .Select(p => (string)((StackExchange.Redis.RedisResult[])p!)[0]!).ToHashSet();
        var entries = await db.StreamRangeAsync(Topics.CrisisClosed);
        return entries.Any(e => ((string)e["data"]!).Contains(eventId, StringComparison.Ordinal) && pending.Contains(e.Id!));
    }

    public async Task DisposeAsync()
    {
        foreach (var release in State.Released.Values)
        {
            release.TrySetResult();
        }

        Client.Dispose();
        _direct?.Dispose();
        await Subscriber.DisposeAsync();
        if (_app is not null)
        {
            await _app.StopAsync(TimeSpan.FromSeconds(1));
            await _app.DisposeAsync();
        }

        await Publisher.DisposeAsync();
        await Redis.DisposeAsync();
        Dispose();
    }

    public void Dispose()
    {
        _signal.Dispose();
        _dir.Dispose();
    }
}

/// <summary>The foundation's outbox/inbox tests (tests/Shared.Tests/Storage), repeated through the dev sidecar and Redis.</summary>
public sealed class OutboxThroughSidecarTests(OutboxFlowFixture fx) : IClassFixture<OutboxFlowFixture>
{
    private static string NewCrisis() => "crisis-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task RelayedOutboxEvents_BulkAndSingle_ArriveOnce_WithTheOutboxEventIdAndProtoType()
    {
        var bulk = Enumerable.Range(0, 5).Select(_ => NewCrisis()).ToArray();
        var bulkIds = await fx.CommitAsync(bulk);
        Assert.Equal(5, await fx.Relay.PublishPendingAsync(CancellationToken.None));
        var single = NewCrisis();
        var singleIds = await fx.CommitAsync(single);
        Assert.Equal(1, await fx.Relay.PublishPendingAsync(CancellationToken.None));

        var all = bulk.Append(single).ToArray();
        var eventIds = bulkIds.Concat(singleIds).ToList();
        await Eventually.TrueAsync(async () => (await Task.WhenAll(all.Select(fx.AppliedAsync))).All(a => a.Count == 1), because: "every event applied");

        for (var i = 0; i < all.Length; i++)
        {
            Assert.Equal([eventIds[i]], await fx.AppliedAsync(all[i]));
            Assert.Equal(1, fx.State.Attempts[all[i]]);
        }

        var received = fx.State.Received.Where(r => eventIds.Contains(r.Id)).ToList();
        Assert.Equal(eventIds.Order(), received.Select(r => r.Id).Order());
        Assert.All(received, r => Assert.Equal("dcis.crisis.events.v1.CrisisClosed", r.Type));
        await Eventually.TrueAsync(async () => await fx.PendingAsync() == 0, because: "every entry acknowledged");
    }

    [Fact]
    public async Task EventsOfManyTraces_RelayedInOnePass_EachArriveInTheTraceThatCausedThem()
    {
        // One relay pass publishes these four in one bulk call (one topic): each entry's own traceparent
        // override must survive it, or every delivery would join the bulk request's trace.
        var crises = Enumerable.Range(0, 4).Select(_ => NewCrisis()).ToArray();
        var traces = new List<string>();
        var eventIds = new List<string>();
        foreach (var crisis in crises)
        {
            using var change = new Activity("change").SetIdFormat(ActivityIdFormat.W3C).Start();
            traces.Add(change.TraceId.ToHexString());
            eventIds.AddRange(await fx.CommitAsync(crisis));
        }

        Assert.Equal(4, traces.Distinct().Count());
        Assert.Equal(4, await fx.Relay.PublishPendingAsync(CancellationToken.None));
        await Eventually.TrueAsync(async () => (await Task.WhenAll(crises.Select(fx.AppliedAsync))).All(a => a.Count == 1), because: "every event applied");

        for (var i = 0; i < crises.Length; i++)
        {
            var received = Assert.Single(fx.State.Received, r => r.Id == eventIds[i]);
            Assert.NotNull(received.TraceParent);
            Assert.Equal(traces[i], ActivityContext.Parse(received.TraceParent, null).TraceId.ToHexString());
        }
    }

    [Fact]
    public async Task SubscriberCrashingBeforeCommit_IsRetried_AndTheEffectIsAppliedOnce()
    {
        var crisis = NewCrisis();
        fx.State.FailFirst[crisis] = true;
        var ids = await fx.CommitAsync(crisis);
        await fx.Relay.PublishPendingAsync(CancellationToken.None);

        await Eventually.TrueAsync(async () => (await fx.AppliedAsync(crisis)).Count == 1, because: "the retried delivery applied");

        Assert.True(fx.State.Attempts[crisis] >= 2, "the first attempt failed, so the event was delivered again");
        Assert.Equal(ids, await fx.AppliedAsync(crisis));
    }

    [Fact]
    public async Task RelayCrashBetweenPublishAndMarkSent_PublishesAgain_AndTheInboxSkipsTheDuplicate()
    {
        var crisis = NewCrisis();
        var ids = await fx.CommitAsync(crisis);
        await fx.Relay.PublishPendingAsync(CancellationToken.None);
        await Eventually.TrueAsync(async () => (await fx.AppliedAsync(crisis)).Count == 1, because: "first delivery applied");

        // The relay died after publishing and before marking the row sent: the row is unsent again.
        await using (var connection = await fx.PublisherDb.OpenAsync(CancellationToken.None))
        {
            await using var unsend = connection.Command("UPDATE outbox SET sent_at = NULL WHERE event_id = $id", null, ("$id", ids[0]));
            Assert.Equal(1, await unsend.ExecuteNonQueryAsync());
        }

        Assert.Equal(1, await fx.Relay.PublishPendingAsync(CancellationToken.None));

        await Eventually.TrueAsync(() => fx.State.Attempts[crisis] == 2, because: "the duplicate delivered");
        await Eventually.TrueAsync(async () => !await fx.IsPendingAsync(ids[0]), because: "the duplicate acknowledged");
        Assert.Equal(ids, await fx.AppliedAsync(crisis));
        var db = (await fx.Redis.ConnectAsync()).GetDatabase();
        var entries = await db.StreamRangeAsync(Topics.CrisisClosed);
        Assert.Equal(2, entries.Count(e => ((string)e["data"]!).Contains(ids[0], StringComparison.Ordinal)));
    }

    [Fact]
    public async Task SubscriberSidecarKilledAfterCommitBeforeAck_Redelivers_AndTheInboxSkipsIt()
    {
        var crisis = NewCrisis();
        var committed = fx.State.Committed[crisis] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var released = fx.State.Released[crisis] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ids = await fx.CommitAsync(crisis);
        await fx.Relay.PublishPendingAsync(CancellationToken.None);
        await committed.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(await fx.IsPendingAsync(ids[0]), "committed by the app, not yet acknowledged");
        await fx.Subscriber.KillAsync();
        released.TrySetResult();
        await fx.Subscriber.RestartAsync();
        await fx.Subscriber.WaitForAppAsync();

        await Eventually.TrueAsync(() => fx.State.Attempts[crisis] == 2, TimeSpan.FromSeconds(60), "redelivered after the restart");
        await Eventually.TrueAsync(async () => !await fx.IsPendingAsync(ids[0]), because: "the redelivery acknowledged");
        Assert.Equal(ids, await fx.AppliedAsync(crisis));
    }
}
