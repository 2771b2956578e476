using System.Globalization;
using Dapr.Client;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Advisories.Tests.Events;

/// <summary>
/// The whole event path as deployed: threat-levels' publisher → its dev sidecar → real Redis →
/// the advisories sidecar → the subscription route → an open company stream; and the advisories
/// outbox relayed back out through its sidecar.
/// </summary>
public sealed class SidecarFixture : IAsyncLifetime, IDisposable
{
    private TempDirectory _resources = null!;

    internal RedisServer Redis { get; private set; } = null!;

    internal DevSidecarProcess AdvisoriesSidecar { get; private set; } = null!;

    internal DevSidecarProcess PublisherSidecar { get; private set; } = null!;

    internal AdvisoriesTestHost Host { get; private set; } = null!;

    internal IEventPublisher Publisher { get; private set; } = null!;

    private DaprClient _dapr = null!;

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        _resources = new TempDirectory("dcis-adv-resources");
        DevSidecarProcess.WritePubSubComponent(_resources.Path, Redis.EndPoint);
        var appPort = FreePort.Next();
        AdvisoriesSidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "advisories", AppPort = appPort, ResourcesPaths = [_resources.Path] });
        Host = await AdvisoriesTestHost.StartAsync(new Dictionary<string, string>
        {
            ["DAPR_GRPC_PORT"] = AdvisoriesSidecar.GrpcPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_HTTP_PORT"] = AdvisoriesSidecar.HttpPort.ToString(CultureInfo.InvariantCulture),
        }, httpPort: appPort);
        await AdvisoriesSidecar.WaitForAppAsync();

        PublisherSidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "threat-levels", ResourcesPaths = [_resources.Path] });
        _dapr = new DaprClientBuilder().UseGrpcEndpoint(PublisherSidecar.GrpcEndpoint).UseHttpEndpoint(PublisherSidecar.HttpEndpoint).Build();
        Publisher = new DaprEventPublisher(_dapr);
    }

    public async Task DisposeAsync()
    {
        _dapr.Dispose();
        await PublisherSidecar.DisposeAsync();
        await Host.DisposeAsync();
        await AdvisoriesSidecar.DisposeAsync();
        await Redis.DisposeAsync();
    }

    public void Dispose() => _resources.Dispose();
}

public class ThroughSidecarTests(SidecarFixture fixture) : IClassFixture<SidecarFixture>
{
    private readonly AdvisoriesTestHost _host = fixture.Host;

    [Fact]
    public async Task PublishedLevelChange_ReachesAnOpenCompanyStream_Once_AndTheAdvisoryIssuedEventGoesOut()
    {
        var client = await _host.RegisterAsync("sidecar-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "ML");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var call = client.WatchAdvisories(new WatchAdvisoriesRequest(), cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token)); // the stream is open (first heartbeat)

        var change = TestEvents.LevelChanged("ML", 1, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential);
        var outgoing = OutgoingEvent.From(Topics.ThreatLevelChanged, change.EventId, change);
        await fixture.Publisher.PublishAsync([outgoing], timeout.Token);
        await fixture.Publisher.PublishAsync([outgoing], timeout.Token); // redelivered by the producer

        Advisory? advisory = null;
        while (advisory is null && await call.ResponseStream.MoveNext(timeout.Token))
        {
            advisory = call.ResponseStream.Current.Advisory;
        }

        Assert.NotNull(advisory);
        Assert.Equal(change.EventId, advisory.CauseEventId);
        Assert.Equal("ML", advisory.Area.CountryCode);

        var db = (SqliteDatabase)_host.Services.GetService(typeof(SqliteDatabase))!;
        await Eventually.TrueAsync(async () =>
        {
            await using var connection = await db.OpenAsync(CancellationToken.None);
            await using var command = connection.Command("SELECT COUNT(*) FROM outbox WHERE topic = $t AND sent_at IS NOT NULL", null, ("$t", Topics.AdvisoryIssued));
            return (long)(await command.ExecuteScalarAsync())! >= 1;
        }, because: "the relay publishes AdvisoryIssued through the advisories sidecar");

        var redis = (await fixture.Redis.ConnectAsync()).GetDatabase();
        Assert.True(await redis.StreamLengthAsync(Topics.AdvisoryIssued) >= 1);

        // Both copies delivered and acknowledged by the advisories consumer group, yet one advisory.
        await Eventually.TrueAsync(async () =>
        {
            var info = await redis.StreamInfoAsync(Topics.ThreatLevelChanged);
            var groups = await redis.StreamGroupInfoAsync(Topics.ThreatLevelChanged);
            return info.Length == 2 && groups.Any(g => g.Name == "advisories" && g.PendingMessageCount == 0 && g.LastDeliveredId == info.LastGeneratedId);
        }, because: "the sidecar delivers both copies");
        Assert.Single((await client.ListAdvisoriesAsync(new ListAdvisoriesRequest())).Advisories);
    }
}
