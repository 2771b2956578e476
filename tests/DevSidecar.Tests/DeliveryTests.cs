using System.Text.Json.Nodes;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>DAPR-CONTRACT.md §4 and §6: how the sidecar delivers, interprets answers and acknowledges.</summary>
[Collection("pubsub")]
public sealed class DeliveryTests(PubSubFixture fx)
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Delivery_PostsTheStoredBytes_AsApplicationCloudEventsJson()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload(id));

        var delivery = (await fx.App.WaitForAsync("events/plain", id)).Single();
        var stored = Assert.Single(await fx.EntriesAsync("plain", id)).Fields["data"];
        Assert.Equal("application/cloudevents+json", delivery.ContentType);
        Assert.Equal(stored, delivery.RawBody);
    }

    [Fact]
    public async Task Delivery_ThroughUseCloudEvents_GivesTheHandlerTheData()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload(id, "typed", 7));

        await Eventually.TrueAsync(() => fx.Plain.Any(p => p.Id == id));
        Assert.Equal(new Payload(id, "typed", 7), fx.Plain.Single(p => p.Id == id));
    }

    [Fact]
    public async Task Delivery_CarriesTheEventsTraceAndThePubsubNameAsHeaders()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload(id));

        var delivery = (await fx.App.WaitForAsync("events/plain", id)).Single();
        var traceId = ((string)delivery.CloudEvent["traceparent"]!).Split('-')[1];
        Assert.Equal(traceId, delivery.Headers["traceparent"].Split('-')[1]);
        Assert.Equal("crisis-pubsub", delivery.Headers["pubsubName"]);
    }

    [Fact]
    public async Task Delivery_ForwardsPublishMetadataAsHeaders()
    {
        var id = NewId();
        await fx.PostAsync("v1.0/publish/crisis-pubsub/plain?metadata.x-custom=abc", $$"""{"id":"{{id}}"}""");

        var delivery = (await fx.App.WaitForAsync("events/plain", id)).Single();
        Assert.Equal("abc", delivery.Headers["x-custom"]);
    }

    [Fact]
    public async Task Delivery_AnsweredWithEmpty200_IsAcknowledged()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload(id));

        await fx.App.WaitForAsync("events/plain", id);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("plain") == 0);
    }

    [Fact]
    public async Task Delivery_AckedOnlyAfterTheAppAnswers()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "slow", new Payload(id));

        await fx.App.WaitForAsync("events/slow", id);
        Assert.Equal(1, await fx.PendingAsync("slow"));
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "dev-sidecar-release-" + id), "");
        await Eventually.TrueAsync(async () => await fx.PendingAsync("slow") == 0);
    }

    [Fact]
    public async Task Delivery_AnsweredDrop_GoesToTheDeadLetterTopic_AndIsAcknowledged()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "dropped", new Payload(id));

        var dead = (await fx.App.WaitForAsync("events/dropped-dead", id)).Single();
        Assert.Single(fx.App.To("events/dropped", id));
        Assert.Equal(Assert.Single(await fx.EntriesAsync("dropped", id)).Fields["data"], dead.RawBody);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("dropped") == 0);
    }

    [Fact]
    public async Task Delivery_AnsweredDrop_WithoutDeadLetterTopic_IsAcknowledgedAndNotRedelivered()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "drop-no-dlq", new Payload(id));

        await fx.App.WaitForAsync("events/drop-no-dlq", id);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("drop-no-dlq") == 0);
        await Task.Delay(3000);
        Assert.Single(fx.App.To("events/drop-no-dlq", id));
    }

    [Fact]
    public async Task Delivery_AnsweredRetry_IsRedeliveredLater()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "retried", new Payload(id));

        await fx.App.WaitForAsync("events/retried", id, count: 2);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("retried") == 0);
    }

    [Fact]
    public async Task Delivery_AnsweredWithAnUnknownStatus_IsRetried()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "unknown-status", new Payload(id));

        await fx.App.WaitForAsync("events/unknown-status", id, count: 2);
    }

    [Fact]
    public async Task Delivery_Answered500_WithoutDeadLetterTopic_StaysPendingAndIsRedelivered()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "flaky", new Payload(id));

        await fx.App.WaitForAsync("events/flaky", id);
        Assert.Equal(1, await fx.PendingAsync("flaky"));
        await fx.App.WaitForAsync("events/flaky", id, count: 2);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("flaky") == 0);
    }

    [Fact]
    public async Task Delivery_Answered500_WithDeadLetterTopic_IsDeadLetteredAndAcknowledged()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "failing", new Payload(id));

        await fx.App.WaitForAsync("events/failing-dead", id);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("failing") == 0);
    }

    [Fact]
    public async Task Delivery_Answered404_IsDroppedAndAcknowledged()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "missing-route", new Payload(id));

        await fx.App.WaitForAsync("events/does-not-exist", id);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("missing-route") == 0);
    }

    [Fact]
    public async Task Delivery_OfAnEntryThatIsNotACloudEvent_GoesToTheDeadLetterTopic()
    {
        var id = NewId();
        await fx.Db.StreamAddAsync("not-json", "data", "garbage " + id);

        await Eventually.TrueAsync(async () => (await fx.EntriesAsync("not-json-dead", id)).Count == 1);
        Assert.Empty(fx.App.To("events/not-json", id));
    }

    [Fact]
    public async Task Delivery_OfAnExpiredEvent_IsDroppedAndAcknowledged()
    {
        var expired = NewId();
        var fresh = NewId();
        var envelope = new JsonObject
        {
            ["id"] = expired, ["source"] = "test", ["type"] = "t", ["specversion"] = "1.0",
            ["datacontenttype"] = "application/json", ["data"] = new JsonObject { ["id"] = expired },
            ["expiration"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"),
        };
        await fx.Db.StreamAddAsync("expiring", "data", envelope.ToJsonString());
        await fx.PostAsync("v1.0/publish/crisis-pubsub/expiring?metadata.ttlInSeconds=60", $$"""{"id":"{{fresh}}"}""");

        await fx.App.WaitForAsync("events/expiring", fresh);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("expiring") == 0);
        Assert.Empty(fx.App.To("events/expiring", expired));
    }

    [Fact]
    public async Task Delivery_ToARawPayloadSubscription_WrapsTheBytesInDataBase64()
    {
        var id = NewId();
        var body = $$"""{"id":"{{id}}","raw":1}""";
        await fx.PostAsync("v1.0/publish/crisis-pubsub/raw?metadata.rawPayload=true", body);

        var delivery = (await fx.App.WaitForAsync("events/raw", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(body)))).Single();
        var ce = delivery.CloudEvent;
        Assert.Equal("application/octet-stream", (string?)ce["datacontenttype"]);
        Assert.Equal(body, System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((string)ce["data_base64"]!)));
    }

    [Fact]
    public async Task Delivery_CarriesTheAppApiToken()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload(id));

        var delivery = (await fx.App.WaitForAsync("events/plain", id)).Single();
        Assert.Equal(PubSubFixture.AppToken, delivery.Headers["dapr-api-token"]);
    }
}
