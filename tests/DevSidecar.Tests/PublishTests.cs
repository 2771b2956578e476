using System.Net;
using System.Text.Json.Nodes;
using Dapr;
using Grpc.Core;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>DAPR-CONTRACT.md §1: publishing over HTTP and gRPC (the unchanged DaprClient).</summary>
[Collection("pubsub")]
public sealed class PublishTests(PubSubFixture fx)
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    private static async Task<JsonObject> ErrorBodyAsync(HttpResponseMessage response) =>
        (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    [Fact]
    public async Task HttpPublish_Answers204_AndAppendsToTheStreamNamedAfterTheTopic()
    {
        var id = NewId();
        using var response = await fx.PostAsync("v1.0/publish/crisis-pubsub/plain", $$"""{"id":"{{id}}"}""");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Single(await fx.EntriesAsync("plain", id));
    }

    [Fact]
    public async Task HttpPublish_ToUnknownPubsub_Answers404_ErrPubsubNotFound_WithGoogleRpcDetails()
    {
        using var response = await fx.PostAsync("v1.0/publish/nope/plain", "{}");
        var body = await ErrorBodyAsync(response);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("ERR_PUBSUB_NOT_FOUND", (string?)body["errorCode"]);
        var details = body["details"]!.AsArray();
        Assert.Equal("DAPR_PUBSUB_NOT_FOUND", (string?)details[0]!["reason"]);
        Assert.Equal("pubsub", (string?)details[1]!["resource_type"]);
        Assert.Equal("nope", (string?)details[1]!["resource_name"]);
    }

    [Fact]
    public async Task HttpPublish_WithEmptyPubsubName_Answers404_ErrPubsubEmpty()
    {
        using var response = await fx.PostAsync("v1.0/publish//plain", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ERR_PUBSUB_EMPTY", (string?)(await ErrorBodyAsync(response))["errorCode"]);
    }

    [Fact]
    public async Task HttpPublish_WithEmptyTopic_Answers404_ErrTopicEmpty()
    {
        using var response = await fx.PostAsync("v1.0/publish/crisis-pubsub/", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ERR_TOPIC_EMPTY", (string?)(await ErrorBodyAsync(response))["errorCode"]);
    }

    [Fact]
    public async Task HttpPublish_WithRawPayloadNotABool_Answers400_ErrPubsubRequestMetadata()
    {
        using var response = await fx.PostAsync("v1.0/publish/crisis-pubsub/plain?metadata.rawPayload=notabool", "{}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("ERR_PUBSUB_REQUEST_METADATA", (string?)(await ErrorBodyAsync(response))["errorCode"]);
    }

    [Fact]
    public async Task HttpPublish_OfAClaimedCloudEventThatIsNotJson_Answers500_ErrPubsubCloudEventsSer()
    {
        using var response = await fx.PostAsync("v1.0/publish/crisis-pubsub/plain", "not json", "application/cloudevents+json");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("ERR_PUBSUB_CLOUD_EVENTS_SER", (string?)(await ErrorBodyAsync(response))["errorCode"]);
    }

    [Fact]
    public async Task HttpPublish_ToATopicNotAllowedForTheApp_Answers403_ErrPubsubForbidden()
    {
        using var response = await fx.PostAsync("v1.0/publish/crisis-pubsub/protected", "{}");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("ERR_PUBSUB_FORBIDDEN", (string?)(await ErrorBodyAsync(response))["errorCode"]);
    }

    [Fact]
    public async Task HttpPublish_PassesMetadataQueryWithoutPrefix_AndStoresItInTheMetadataField()
    {
        var id = NewId();
        using var response = await fx.PostAsync($"v1.0/publish/crisis-pubsub/plain?metadata.priority=high&other=x", $$"""{"id":"{{id}}"}""");

        var entry = Assert.Single(await fx.EntriesAsync("plain", id));
        var metadata = JsonNode.Parse(entry.Fields["metadata"])!.AsObject();
        Assert.Equal("high", (string?)metadata["priority"]);
        Assert.False(metadata.ContainsKey("other"));
    }

    [Fact]
    public async Task HttpPublish_AcceptsPut_AndTopicsContainingSlashes()
    {
        var id = NewId();
        using var content = new StringContent($$"""{"id":"{{id}}"}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await fx.Http.PutAsync(new Uri("v1.0/publish/crisis-pubsub/a/b", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Single(await fx.EntriesAsync("a/b", id));
    }

    [Fact]
    public async Task HttpBulkPublish_Answers204_AndStoresEveryEntryAsItsOwnEnvelope()
    {
        var id = NewId();
        var body = $$"""
            [{"entryId":"1","event":{"id":"{{id}}","n":1},"contentType":"application/json"},
             {"entryId":"2","event":"text {{id}}","contentType":"text/plain"}]
            """;
        using var response = await fx.PostAsync("v1.0-alpha1/publish/bulk/crisis-pubsub/envelope", body);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var entries = await fx.EntriesAsync("envelope", id);
        Assert.Equal(2, entries.Count);
        var data = entries.Select(e => JsonNode.Parse(e.Fields["data"])!["data"]!.ToJsonString()).ToList();
        Assert.Contains($$"""{"id":"{{id}}","n":1}""", data);
        Assert.Contains($"\"text {id}\"", data);
    }

    [Fact]
    public async Task HttpBulkPublish_OfABodyThatIsNotJson_Answers400_ErrPubsubEventsSer()
    {
        using var response = await fx.PostAsync("v1.0-alpha1/publish/bulk/crisis-pubsub/plain", "[not json");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("ERR_PUBSUB_EVENTS_SER", (string?)(await ErrorBodyAsync(response))["errorCode"]);
    }

    [Fact]
    public async Task DaprClient_PublishEventAsync_StoresTheObjectAsJsonData()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload(id, "k", 2));

        var entry = Assert.Single(await fx.EntriesAsync("plain", id));
        var envelope = JsonNode.Parse(entry.Fields["data"])!;
        Assert.Equal("application/json", (string?)envelope["datacontenttype"]);
        Assert.Equal(2, (int)envelope["data"]!["level"]!);
    }

    [Fact]
    public async Task DaprClient_PublishToUnknownPubsub_FailsWithInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<DaprException>(() => fx.Client.PublishEventAsync("nope", "plain", new Payload(NewId())));

        Assert.Equal(StatusCode.InvalidArgument, Assert.IsType<RpcException>(error.InnerException).StatusCode);
    }

    [Fact]
    public async Task DaprClient_PublishToForbiddenTopic_FailsWithPermissionDenied()
    {
        var error = await Assert.ThrowsAsync<DaprException>(() => fx.Client.PublishEventAsync(PubSubFixture.PubSub, "protected", new Payload(NewId())));

        Assert.Equal(StatusCode.PermissionDenied, Assert.IsType<RpcException>(error.InnerException).StatusCode);
    }

    [Fact]
    public async Task DaprClient_BulkPublishEventAsync_FindsBulkThroughReflection_AndDeliversEveryEntry()
    {
        var id = NewId();
        var events = Enumerable.Range(0, 5).Select(i => new Payload($"{id}-{i}")).ToList();

        var result = await fx.Client.BulkPublishEventAsync(PubSubFixture.PubSub, "plain", events);

        Assert.Empty(result.FailedEntries);
        await Eventually.TrueAsync(() => fx.Plain.Count(p => p.Id.StartsWith(id, StringComparison.Ordinal)) == 5, null, () => fx.Subscriber.Output);
    }

    [Fact]
    public async Task GrpcPublish_WithoutMetadata_StoresNoMetadataField()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload(id));

        var entry = Assert.Single(await fx.EntriesAsync("plain", id));
        Assert.False(entry.Fields.ContainsKey("metadata"));
    }

    [Fact]
    public async Task Publish_OnAComponentWithMaxLenApprox_TrimsTheStream()
    {
        var id = NewId();
        for (var i = 0; i < 300; i++)
        {
            await fx.Client.PublishEventAsync("trimmed-pubsub", "trimmed", new Payload($"{id}-{i}"));
        }

        Assert.True(await fx.Db.StreamLengthAsync("trimmed") < 300);
    }
}
