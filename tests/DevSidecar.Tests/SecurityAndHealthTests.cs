using System.Net;
using Dapr;
using Dapr.Client;
using Grpc.Core;

namespace Dcis.Crisis.DevSidecar.Tests;

/// <summary>DAPR-CONTRACT.md §1.5 and §7: health, metadata and API tokens.</summary>
[Collection("pubsub")]
public sealed class SecurityAndHealthTests(PubSubFixture fx)
{
    [Fact]
    public async Task HttpApi_WithoutTheDaprApiToken_Answers401()
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(fx.Publisher.HttpEndpoint + "/v1.0/publish/crisis-pubsub/plain"), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task HealthEndpoints_AnswerWithoutTheToken()
    {
        using var http = new HttpClient();
        using var health = await http.GetAsync(new Uri(fx.Publisher.HttpEndpoint + "/v1.0/healthz"));
        using var outbound = await http.GetAsync(new Uri(fx.Publisher.HttpEndpoint + "/v1.0/healthz/outbound"));

        Assert.Equal(HttpStatusCode.NoContent, health.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, outbound.StatusCode);
    }

    [Fact]
    public async Task Healthz_ForAnotherAppId_AnswersErrHealthAppidNotMatch()
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(fx.Publisher.HttpEndpoint + "/v1.0/healthz?appid=someone-else"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("ERR_HEALTH_APPID_NOT_MATCH", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcApi_WithoutTheDaprApiToken_FailsUnauthenticated()
    {
        using var client = new DaprClientBuilder().UseGrpcEndpoint(fx.Publisher.GrpcEndpoint).UseHttpEndpoint(fx.Publisher.HttpEndpoint).Build();

        var error = await Assert.ThrowsAsync<DaprException>(() => client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload("x")));

        Assert.Equal(StatusCode.Unauthenticated, Assert.IsType<RpcException>(error.InnerException).StatusCode);
    }

    [Fact]
    public async Task DaprClient_WaitForSidecarAndGetMetadata_SeeIdAndComponents()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await fx.Client.WaitForSidecarAsync(cts.Token);

        var metadata = await fx.Client.GetMetadataAsync(cts.Token);

        Assert.Equal("publisher", metadata.Id);
        Assert.Contains(metadata.Components, c => c.Name == "crisis-pubsub" && c.Type == "pubsub.redis");
    }

    [Fact]
    public void SubscriptionFetch_CarriesTheAppApiToken()
    {
        var fetch = Assert.Single(fx.App.SubscribeFetches);

        Assert.Equal(PubSubFixture.AppToken, fetch["dapr-api-token"]);
    }

    [Fact]
    public async Task Deliveries_CarryTheAppApiToken()
    {
        var id = Guid.NewGuid().ToString("N");
        await fx.Client.PublishEventAsync(PubSubFixture.PubSub, "plain", new Payload(id));

        var delivery = Assert.Single(await fx.App.WaitForAsync("events/plain", id));

        Assert.Equal(PubSubFixture.AppToken, delivery.Headers["dapr-api-token"]);
    }
}
