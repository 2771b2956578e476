using System.Text.Json.Nodes;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>DAPR-CONTRACT.md §3: programmatic and declarative subscriptions, routing rules, scopes.</summary>
[Collection("pubsub")]
public sealed class SubscriptionTests(PubSubFixture fx)
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Programmatic_DotNetSubscriptions_AreReadFromDaprSubscribe_WithDeadLetterTopics()
    {
        using var http = new HttpClient();
        var metadata = JsonNode.Parse(await http.GetStringAsync(new Uri(fx.Subscriber.HttpEndpoint + "/v1.0/metadata")))!;

        var subscriptions = metadata["subscriptions"]!.AsArray();
        var dropped = subscriptions.Single(s => (string?)s!["topic"] == "dropped")!;
        Assert.Equal("crisis-pubsub", (string?)dropped["pubsubname"]);
        Assert.Equal("dropped-dead", (string?)dropped["deadLetterTopic"]);
        Assert.Equal("PROGRAMMATIC", (string?)dropped["type"]);
    }

    [Fact]
    public async Task Routing_FirstMatchingRuleWins_OnEventType()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "routed", new Payload(id, Level: 5),
            new Dictionary<string, string> { ["cloudevent.type"] = "kind-a" });

        await fx.App.WaitForAsync("events/routed-a", id);
        Assert.Empty(fx.App.To("events/routed-high", id));
    }

    [Fact]
    public async Task Routing_EvaluatesEqualityAndOrNotOnEventData()
    {
        var high = NewId();
        var ignored = NewId();
        var vip = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "routed", new Payload(high, "normal", 3));
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "routed", new Payload(ignored, "ignore", 4));
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "routed", new Payload(vip, "vip", 0));

        await fx.App.WaitForAsync("events/routed-high", high);
        await fx.App.WaitForAsync("events/routed-default", ignored);
        await fx.App.WaitForAsync("events/routed-high", vip);
    }

    [Fact]
    public async Task Routing_FallsBackToTheDefaultRoute()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "routed", new Payload(id, "low", 1));

        await fx.App.WaitForAsync("events/routed-default", id);
    }

    [Fact]
    public async Task Routing_WithNoMatchingRule_DropsAndAcknowledges()
    {
        var wanted = NewId();
        var unwanted = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "rules-only", new Payload(unwanted));
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "rules-only", new Payload(wanted),
            new Dictionary<string, string> { ["cloudevent.type"] = "wanted" });

        await fx.App.WaitForAsync("events/rules-only", wanted);
        await Eventually.TrueAsync(async () => await fx.PendingAsync("rules-only") == 0);
        Assert.Empty(fx.App.To("events/rules-only", unwanted));
    }

    [Fact]
    public async Task Declarative_V2alpha1_RoutesByRulesAndDefault()
    {
        var special = NewId();
        var normal = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "declared", new Payload(special),
            new Dictionary<string, string> { ["cloudevent.type"] = "special" });
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "declared", new Payload(normal));

        await fx.App.WaitForAsync("events/declared-special", special);
        await fx.App.WaitForAsync("events/declared", normal);
    }

    [Fact]
    public async Task Declarative_V1alpha1_UsesItsSingleRoute()
    {
        var id = NewId();
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "declared-v1", new Payload(id));

        await fx.App.WaitForAsync("events/declared-v1", id);
    }

    [Fact]
    public async Task Declarative_ScopedToAnotherApp_IsIgnored()
    {
        using var http = new HttpClient();
        var metadata = JsonNode.Parse(await http.GetStringAsync(new Uri(fx.Subscriber.HttpEndpoint + "/v1.0/metadata")))!;

        var topics = metadata["subscriptions"]!.AsArray().Select(s => (string?)s!["topic"]).ToList();
        Assert.Contains("declared", topics);
        Assert.DoesNotContain("other-app-topic", topics);
    }

    [Fact]
    public async Task ComponentScoping_RefusesSubscriptionToAProtectedTopic()
    {
        using var http = new HttpClient();
        var metadata = JsonNode.Parse(await http.GetStringAsync(new Uri(fx.Subscriber.HttpEndpoint + "/v1.0/metadata")))!;

        Assert.DoesNotContain("protected", metadata["subscriptions"]!.AsArray().Select(s => (string?)s!["topic"]));
    }
}
