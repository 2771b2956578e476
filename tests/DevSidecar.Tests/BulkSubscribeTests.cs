using System.Text.Json.Nodes;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>
/// DAPR-CONTRACT.md §3.1/§3.2 (<c>bulkSubscribe</c>), §4 item 8 (bulk HTTP delivery) and §5.1: the dev
/// sidecar batches entries as daprd does for Redis, POSTs daprd's envelope, and acknowledges per entry.
/// </summary>
[Collection("bulk")]
public sealed class BulkSubscribeTests(BulkFixture fx)
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    private static List<Payload> Payloads(string marker, int count, string kind = "") =>
        [.. Enumerable.Range(0, count).Select(i => new Payload($"{marker}-{i:00}", kind))];

    [Fact]
    public async Task Bulk_BatchesUpToMaxMessagesCount()
    {
        var marker = NewId();
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-count", Payloads(marker, 20));

        // maxAwaitDurationMs is 60 s: only a full batch of 10 (= the component's concurrency) is sent before then.
        await Eventually.TrueAsync(() => fx.Posts("events/bulk-count", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count) >= 20);
        var posts = fx.Posts("events/bulk-count", marker);
        Assert.Equal([10, 10], posts.Select(p => BulkFixture.Ids(p.Envelope).Count));
        Assert.Equal(20, posts.SelectMany(p => BulkFixture.Ids(p.Envelope)).Distinct().Count());
        await Eventually.TrueAsync(async () => (await fx.PendingIdsAsync("bulk-count")).Count == 0);
    }

    [Fact]
    public async Task Bulk_SendsAPartialBatch_AfterMaxAwaitDuration()
    {
        var marker = NewId();
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-await", Payloads(marker, 3));

        await Eventually.TrueAsync(() => fx.Posts("events/bulk-await", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count) >= 3);
        var posts = fx.Posts("events/bulk-await", marker);
        // maxMessagesCount is 100: these batches were sent by the maxAwaitDurationMs ticker.
        Assert.All(posts, p => Assert.InRange(BulkFixture.Ids(p.Envelope).Count, 1, 3));
        Assert.Equal(3, posts.SelectMany(p => BulkFixture.Ids(p.Envelope)).Distinct().Count());
    }

    [Fact]
    public async Task Bulk_BatchesHoldAtMostTheComponentsConcurrency_AsDaprdsRedisWorkersDo()
    {
        var marker = NewId();
        await fx.Client.BulkPublishEventAsync(BulkFixture.Capped, "bulk-capped", Payloads(marker, 9));

        await Eventually.TrueAsync(() => fx.Posts("events/bulk-capped", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count) >= 9);
        var posts = fx.Posts("events/bulk-capped", marker);
        // maxMessagesCount is 100, but each of the 3 workers holds one entry until its batch is answered.
        Assert.All(posts, p => Assert.InRange(BulkFixture.Ids(p.Envelope).Count, 1, 3));
        Assert.Equal(9, posts.SelectMany(p => BulkFixture.Ids(p.Envelope)).Distinct().Count());
    }

    [Fact]
    public async Task Bulk_ExpiredEntries_NeverGoIntoABatch_AndAreAcknowledged()
    {
        var marker = NewId();
        var envelope = new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(), ["source"] = "test", ["type"] = "com.dapr.event.sent", ["specversion"] = "1.0",
            ["datacontenttype"] = "application/json", ["data"] = new JsonObject { ["id"] = $"{marker}-expired" },
            ["expiration"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"),
        };
        var expired = await fx.Db.StreamAddAsync("bulk-await", "data", envelope.ToJsonString());
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-await", [new Payload($"{marker}-fresh")]);

        await Eventually.TrueAsync(() => fx.Posts("events/bulk-await", marker).Count >= 1);
        await Eventually.TrueAsync(async () => !(await fx.PendingIdsAsync("bulk-await")).Contains((string)expired!), because: "the expired entry acknowledged");
        Assert.Equal([$"{marker}-fresh"], fx.Posts("events/bulk-await", marker).SelectMany(p => BulkFixture.Ids(p.Envelope)));
    }

    [Fact]
    public async Task Bulk_PostsDaprdsEnvelope_AsApplicationJson_WithTokenAndTrace()
    {
        var marker = NewId();
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-envelope", Payloads(marker, 2, "typed"));

        await Eventually.TrueAsync(() => fx.Posts("events/bulk-envelope", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count) >= 2);
        var (delivery, envelope) = fx.Posts("events/bulk-envelope", marker)[0];
        Assert.Equal("application/json", delivery.ContentType);
        Assert.Equal(BulkFixture.AppToken, delivery.Headers["dapr-api-token"]);
        Assert.Equal(BulkFixture.PubSub, delivery.Headers["pubsubName"]);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", delivery.Headers["traceparent"]);
        Assert.Equal("com.dapr.event.sent.bulk", (string)envelope["type"]!);
        Assert.Equal("bulk-envelope", (string)envelope["topic"]!);
        Assert.Equal(BulkFixture.PubSub, (string)envelope["pubsubname"]!);
        Assert.Equal(BulkFixture.PubSub, (string)envelope["metadata"]!["pubsubName"]!);
        Assert.True(Guid.TryParse((string)envelope["id"]!, out _));

        var stored = (await fx.EntriesAsync("bulk-envelope", marker)).ToDictionary(e => e.PayloadId, e => e.StreamId);
        var streamEntries = await fx.Db.StreamRangeAsync("bulk-envelope");
        foreach (var entry in envelope["entries"]!.AsArray().OfType<JsonObject>())
        {
            Assert.Equal("application/cloudevents+json", (string)entry["contentType"]!);
            Assert.True(Guid.TryParse((string)entry["entryId"]!, out _));
            Assert.IsType<JsonObject>(entry["metadata"]);
            // The event is the stored CloudEvent object itself.
            var id = (string)entry["event"]!["data"]!["id"]!;
            var storedData = (string)streamEntries.Single(e => e.Id == stored[id])["data"]!;
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(storedData), entry["event"]));
        }

        // The SDK handler got typed data: UseCloudEvents left the application/json body alone.
        Assert.Contains(fx.Received, r => r.Topic == "bulk-envelope" && r.Payload == new Payload($"{marker}-00", "typed"));
    }

    [Fact]
    public async Task Bulk_PerEntryStatuses_DecideWhatIsAcknowledged()
    {
        var marker = NewId();
        List<Payload> payloads = [new($"{marker}-ok", "ok"), new($"{marker}-retry", "retry"), new($"{marker}-drop", "drop"), new($"{marker}-none", "none")];
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-status", payloads);

        var ids = (await fx.EntriesAsync("bulk-status", marker)).ToDictionary(e => e.PayloadId, e => e.StreamId);
        Assert.Equal(4, ids.Count);
        await Eventually.TrueAsync(() => payloads.All(p => fx.Received.Any(r => r.Payload.Id == p.Id)));
        // SUCCESS and DROP are acknowledged; RETRY and a missing status stay pending (read from Redis).
        HashSet<string> expected = [ids[$"{marker}-retry"], ids[$"{marker}-none"]];
        await Eventually.TrueAsync(async () => (await fx.PendingIdsAsync("bulk-status")).Intersect(ids.Values).ToHashSet().SetEquals(expected),
            because: "pending = the RETRY and the status-less entry");
        // ... and are redelivered by the reclaim loop, in a new batch (new entry ids).
        await Eventually.TrueAsync(() => fx.Received.Count(r => r.Payload.Id == $"{marker}-retry") >= 2);
        var entryIds = fx.Received.Where(r => r.Payload.Id == $"{marker}-retry").Select(r => r.EntryId).ToList();
        Assert.Equal(entryIds.Count, entryIds.Distinct().Count());
        Assert.Single(fx.Received, r => r.Payload.Id == $"{marker}-ok");
        Assert.Single(fx.Received, r => r.Payload.Id == $"{marker}-drop");
    }

    [Fact]
    public async Task Bulk_DroppedAndFailedEntries_GoToTheDeadLetterTopic_AndAreAcknowledged()
    {
        var marker = NewId();
        List<Payload> payloads = [new($"{marker}-ok", "ok"), new($"{marker}-retry", "retry"), new($"{marker}-drop", "drop")];
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-status-dlq", payloads);

        // Without an inbound retry policy one attempt is made; then failed entries are dead-lettered.
        await Eventually.TrueAsync(async () => (await fx.EntriesAsync("bulk-status-dlq-dead", marker)).Count >= 2);
        var dead = (await fx.EntriesAsync("bulk-status-dlq-dead", marker)).Select(e => e.PayloadId).Order().ToList();
        Assert.Equal([$"{marker}-drop", $"{marker}-retry"], dead);
        var ids = (await fx.EntriesAsync("bulk-status-dlq", marker)).Select(e => e.StreamId).ToHashSet();
        await Eventually.TrueAsync(async () => !(await fx.PendingIdsAsync("bulk-status-dlq")).Overlaps(ids));
    }

    [Fact]
    public async Task Bulk_Answered404_DropsTheWholeBatch_WithoutDeadLettering()
    {
        var marker = NewId();
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-404", Payloads(marker, 3));

        await Eventually.TrueAsync(() => fx.Posts("events/bulk-404", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count) >= 3);
        var ids = (await fx.EntriesAsync("bulk-404", marker)).Select(e => e.StreamId).ToHashSet();
        Assert.Equal(3, ids.Count);
        await Eventually.TrueAsync(async () => !(await fx.PendingIdsAsync("bulk-404")).Overlaps(ids));
        Assert.Empty(await fx.EntriesAsync("bulk-404-dead", marker));
        Assert.Equal(3, fx.Posts("events/bulk-404", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count));
    }

    [Fact]
    public async Task Bulk_Answered500_RetriesTheWholeBatch()
    {
        var marker = NewId();
        var payloads = Payloads(marker, 4);
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-500", payloads);

        // The first answer is 500 for every entry: none is acknowledged, all come back, then succeed.
        await Eventually.TrueAsync(() => payloads.All(p => fx.Attempts.GetValueOrDefault(p.Id) >= 2), because: "every entry delivered again after the 500");
        var ids = (await fx.EntriesAsync("bulk-500", marker)).Select(e => e.StreamId).ToHashSet();
        await Eventually.TrueAsync(async () => !(await fx.PendingIdsAsync("bulk-500")).Overlaps(ids));
    }

    [Fact]
    public async Task Bulk_InboundRetryPolicy_ResendsOnlyTheFailedEntries_InTheSameBatch()
    {
        var marker = NewId();
        List<Payload> payloads = [new($"{marker}-ok", "ok"), new($"{marker}-retry", "retry")];
        await fx.Client.BulkPublishEventAsync(BulkFixture.Resilient, "bulk-resilient", payloads);

        await Eventually.TrueAsync(() => fx.Received.Count(r => r.Payload.Id == $"{marker}-retry") >= 2);
        var posts = fx.Posts("events/bulk-resilient", marker);
        Assert.True(posts.Count >= 2);
        // The retry carries only the failed entry, under the same entry id (a reclaim would make a new batch).
        Assert.Equal([$"{marker}-retry"], BulkFixture.Ids(posts[1].Envelope));
        var retried = fx.Received.Where(r => r.Payload.Id == $"{marker}-retry").Select(r => r.EntryId).Take(2).ToList();
        Assert.Equal(retried[0], retried[1]);
        Assert.Single(fx.Received, r => r.Payload.Id == $"{marker}-ok");
        var ids = (await fx.EntriesAsync("bulk-resilient", marker)).Select(e => e.StreamId).ToHashSet();
        await Eventually.TrueAsync(async () => !(await fx.PendingIdsAsync("bulk-resilient")).Overlaps(ids));
    }

    [Fact]
    public async Task Bulk_DeclarativeSubscription_WithBulkSubscribe_IsDeliveredInBatches()
    {
        var marker = NewId();
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-declared", Payloads(marker, 7));

        await Eventually.TrueAsync(() => fx.Posts("events/bulk-declared", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count) >= 7);
        var posts = fx.Posts("events/bulk-declared", marker);
        Assert.All(posts, p => Assert.Equal("application/json", p.Delivery.ContentType));
        // maxMessagesCount 5: 7 entries need at least two POSTs, none larger than 5.
        Assert.All(posts, p => Assert.InRange(BulkFixture.Ids(p.Envelope).Count, 1, 5));
        Assert.True(posts.Count >= 2);
        Assert.Equal(7, posts.SelectMany(p => BulkFixture.Ids(p.Envelope)).Distinct().Count());
        var ids = (await fx.EntriesAsync("bulk-declared", marker)).Select(e => e.StreamId).ToHashSet();
        await Eventually.TrueAsync(async () => !(await fx.PendingIdsAsync("bulk-declared")).Overlaps(ids));
    }

    [Fact]
    public async Task Bulk_RoutingRules_SplitABatchByPath()
    {
        var marker = NewId();
        List<Payload> payloads = [.. Enumerable.Range(0, 6).Select(i => new Payload($"{marker}-{i}", i % 2 == 0 ? "a" : "b"))];
        await fx.Client.BulkPublishEventAsync(BulkFixture.PubSub, "bulk-routed", payloads);

        await Eventually.TrueAsync(() =>
            fx.Posts("events/bulk-routed-a", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count) + fx.Posts("events/bulk-routed-b", marker).Sum(p => BulkFixture.Ids(p.Envelope).Count) >= 6);
        var a = fx.Posts("events/bulk-routed-a", marker).SelectMany(p => BulkFixture.Ids(p.Envelope)).Order().ToList();
        var b = fx.Posts("events/bulk-routed-b", marker).SelectMany(p => BulkFixture.Ids(p.Envelope)).Order().ToList();
        Assert.Equal(payloads.Where(p => p.Kind == "a").Select(p => p.Id).Order(), a);
        Assert.Equal(payloads.Where(p => p.Kind == "b").Select(p => p.Id).Order(), b);
    }
}
