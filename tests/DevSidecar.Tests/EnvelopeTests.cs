using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>DAPR-CONTRACT.md §2: the CloudEvents envelope as daprd builds it, read back from Redis.</summary>
[Collection("pubsub")]
public sealed class EnvelopeTests(PubSubFixture fx)
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    private async Task<JsonObject> StoredAsync(string topic, string marker)
    {
        var entry = Assert.Single(await fx.EntriesAsync(topic, marker));
        return JsonNode.Parse(entry.Fields["data"])!.AsObject();
    }

    [Fact]
    public async Task Envelope_HasEveryAttributeOfTheContractTable()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "envelope", new Payload(id));

        var e = await StoredAsync("envelope", id);
        Assert.True(Guid.TryParse((string?)e["id"], out _));
        Assert.Equal("publisher", (string?)e["source"]);
        Assert.Equal("com.dapr.event.sent", (string?)e["type"]);
        Assert.Equal("1.0", (string?)e["specversion"]);
        Assert.Equal("application/json", (string?)e["datacontenttype"]);
        Assert.Equal("envelope", (string?)e["topic"]);
        Assert.Equal("crisis-pubsub", (string?)e["pubsubname"]);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", (string?)e["traceparent"]);
        Assert.Equal((string?)e["traceparent"], (string?)e["traceid"]);
        Assert.Equal("", (string?)e["tracestate"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$", (string?)e["time"]);
        Assert.False(e.ContainsKey("expiration"));
    }

    [Fact]
    public async Task Envelope_KeysAreSortedLikeGoMaps()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "envelope", new Payload(id));

        var keys = (await StoredAsync("envelope", id)).Select(kv => kv.Key).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
    }

    [Fact]
    public async Task Envelope_EmbedsJsonDataWithNumbersKeptExactly()
    {
        var id = NewId();
        await fx.PostAsync("v1.0/publish/crisis-pubsub/envelope", $$"""{"id":"{{id}}","big":12345678901234567890,"f":1.50}""");

        var data = (await StoredAsync("envelope", id))["data"]!.ToJsonString();
        Assert.Contains("12345678901234567890", data, StringComparison.Ordinal);
        Assert.Contains("1.50", data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Envelope_OfInvalidJsonWithJsonContentType_CarriesTheBodyAsAString()
    {
        var id = NewId();
        await fx.PostAsync("v1.0/publish/crisis-pubsub/envelope", $"{{broken {id}");

        Assert.Equal($"{{broken {id}", (string?)(await StoredAsync("envelope", id))["data"]);
    }

    [Fact]
    public async Task Envelope_WithoutContentType_DefaultsToTextPlain_AndCarriesAString()
    {
        var id = NewId();
        await fx.PostAsync("v1.0/publish/crisis-pubsub/envelope", $"hello {id}", contentType: null);

        var e = await StoredAsync("envelope", id);
        Assert.Equal("text/plain", (string?)e["datacontenttype"]);
        Assert.Equal($"hello {id}", (string?)e["data"]);
    }

    [Fact]
    public async Task Envelope_OfBinaryContentType_CarriesDataBase64()
    {
        var id = NewId();
        var bytes = System.Text.Encoding.UTF8.GetBytes("bin " + id);
        await fx.Client.PublishByteEventAsync(PubSubFixture.PubSub, "binary", bytes, "application/octet-stream");

        var entries = await fx.Db.StreamRangeAsync("binary");
        var envelopes = entries.Select(en => JsonNode.Parse((string)en.Values.Single(v => v.Name == "data").Value!)!).ToList();
        var e = Assert.Single(envelopes, x => (string?)x["data_base64"] == Convert.ToBase64String(bytes));
        Assert.Null(e["data"]);
        Assert.Equal("application/octet-stream", (string?)e["datacontenttype"]);
    }

    [Fact]
    public async Task Envelope_TakesCloudEventOverridesFromMetadata()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "envelope", new Payload(id), new Dictionary<string, string>
        {
            ["cloudevent.id"] = "my-id-" + id,
            ["cloudevent.type"] = "my.type",
            ["cloudevent.source"] = "my-source",
        });

        var e = await StoredAsync("envelope", id);
        Assert.Equal("my-id-" + id, (string?)e["id"]);
        Assert.Equal("my.type", (string?)e["type"]);
        Assert.Equal("my-source", (string?)e["source"]);
    }

    [Fact]
    public async Task Envelope_OverrideOfTraceparent_WinsOverTraceid()
    {
        var id = NewId();
        const string tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        await fx.PostAsync($"v1.0/publish/crisis-pubsub/envelope?metadata.cloudevent.traceid=00-11111111111111111111111111111111-2222222222222222-01&metadata.cloudevent.traceparent={tp}", $$"""{"id":"{{id}}"}""");

        var e = await StoredAsync("envelope", id);
        Assert.Equal(tp, (string?)e["traceparent"]);
        Assert.Equal(tp, (string?)e["traceid"]);
    }

    [Fact]
    public async Task Envelope_OfAPublisherCloudEvent_KeepsItsFields_AndOverwritesTopicPubsubAndTrace()
    {
        var id = NewId();
        var ce = $$$"""{"id":"{{{id}}}","specversion":"1.0","type":"custom.type","source":"custom","topic":"wrong","pubsubname":"wrong","traceparent":"bad","ext":"kept","datacontenttype":"application/json","data":{"x":1}}""";
        await fx.PostAsync("v1.0/publish/crisis-pubsub/envelope", ce, "application/cloudevents+json");

        var e = await StoredAsync("envelope", id);
        Assert.Equal(id, (string?)e["id"]);
        Assert.Equal("custom.type", (string?)e["type"]);
        Assert.Equal("custom", (string?)e["source"]);
        Assert.Equal("kept", (string?)e["ext"]);
        Assert.Equal("envelope", (string?)e["topic"]);
        Assert.Equal("crisis-pubsub", (string?)e["pubsubname"]);
        Assert.NotEqual("bad", (string?)e["traceparent"]);
        Assert.NotNull(e["time"]);
    }

    [Fact]
    public async Task Envelope_OfAPublisherCloudEventWithoutDefaults_GetsSourceDaprTypeAndSpecversion()
    {
        var id = NewId();
        await fx.PostAsync("v1.0/publish/crisis-pubsub/envelope", $$"""{"id":"{{id}}","data":"x"}""", "application/cloudevents+json");

        var e = await StoredAsync("envelope", id);
        Assert.Equal("Dapr", (string?)e["source"]);
        Assert.Equal("com.dapr.event.sent", (string?)e["type"]);
        Assert.Equal("1.0", (string?)e["specversion"]);
    }

    [Fact]
    public async Task Publish_WithRawPayload_StoresTheBytesAsSent()
    {
        var id = NewId();
        var body = $$"""{"id":"{{id}}","raw":true}""";
        using var response = await fx.PostAsync("v1.0/publish/crisis-pubsub/envelope?metadata.rawPayload=true", body);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(body, Assert.Single(await fx.EntriesAsync("envelope", id)).Fields["data"]);
    }

    [Fact]
    public async Task Publish_WithTtl_AddsAnExpirationInUtc()
    {
        var id = NewId();
        await fx.PostAsync("v1.0/publish/crisis-pubsub/envelope?metadata.ttlInSeconds=120", $$"""{"id":"{{id}}"}""");

        var expiration = DateTimeOffset.Parse((string)(await StoredAsync("envelope", id))["expiration"]!, CultureInfo.InvariantCulture);
        Assert.InRange(expiration, DateTimeOffset.UtcNow.AddSeconds(60), DateTimeOffset.UtcNow.AddSeconds(180));
    }

    [Fact]
    public async Task Publish_ContinuesTheCallersTrace()
    {
        var id = NewId();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1.0/publish/crisis-pubsub/envelope")
        {
            Content = new StringContent($$"""{"id":"{{id}}"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        request.Headers.Add("tracestate", "congo=t61rcWkgMzE");
        using var response = await fx.Http.SendAsync(request);

        var e = await StoredAsync("envelope", id);
        Assert.StartsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-", (string?)e["traceparent"], StringComparison.Ordinal);
        Assert.Equal("congo=t61rcWkgMzE", (string?)e["tracestate"]);
    }
}
