using System.Globalization;
using System.Text;
using Dapr.Client;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Dcis.Crisis.Consular.Tests.Events;

/// <summary>The real path: Redis, the dev sidecar delivering to the subscription endpoint, the outbox relay publishing back.</summary>
public sealed class ThroughSidecarTests
{
    [Fact]
    public async Task LevelChange_PublishedTwice_ThroughTheSidecar_YieldsOneAlertAndOneBatchInRedis()
    {
        await using var redis = await RedisServer.StartAsync();
        using var resources = new TempDirectory("consular-res");
        DevSidecarProcess.WritePubSubComponent(resources.Path, redis.EndPoint);
        var clock = new ManualClock(ConsularTestHost.Start);
        var (daprHttp, daprGrpc, appHttp) = (FreePort.Next(), FreePort.Next(), FreePort.Next());
        await using var host = await ServiceHost.StartAsync(
            args => ConsularApp.Create(args, s => s.AddSingleton<TimeProvider>(clock)),
            new Dictionary<string, string>
            {
                ["DAPR_HTTP_PORT"] = daprHttp.ToString(CultureInfo.InvariantCulture),
                ["DAPR_GRPC_PORT"] = daprGrpc.ToString(CultureInfo.InvariantCulture),
                ["Consular:JobIntervalSeconds"] = "0",
            },
            httpPort: appHttp);
        await using var sidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions
        {
            AppId = "consular", AppPort = appHttp, ResourcesPaths = [resources.Path], HttpPort = daprHttp, GrpcPort = daprGrpc,
        });
        await sidecar.WaitForAppAsync();
        var t = new ConsularService(host);
        await t.RegisterAsync();
        using var dapr = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        var change = ConsularTestHost.LevelChange("ML", ThreatLevel.Increased, ThreatLevel.DoNotTravel);
        var metadata = new Dictionary<string, string> { ["cloudevent.id"] = change.EventId, ["cloudevent.type"] = ThreatLevelChanged.Descriptor.FullName };
        var body = Encoding.UTF8.GetBytes(ProtoJson.Format(change));

        await dapr.PublishByteEventAsync(Topics.PubSub, Topics.ThreatLevelChanged, body, "application/json", metadata);
        await dapr.PublishByteEventAsync(Topics.PubSub, Topics.ThreatLevelChanged, body, "application/json", metadata);

        var db = (await redis.ConnectAsync()).GetDatabase();
        await Eventually.TrueAsync(async () => await db.StreamLengthAsync(Topics.NotificationRequested) >= 1, TimeSpan.FromSeconds(60), "the batch reaches Redis");
        await Eventually.TrueAsync(async () => await t.InboxCountAsync() >= 1, TimeSpan.FromSeconds(60), "both deliveries processed");
        await Eventually.TrueAsync(async () => await t.UnsentCountAsync() == 0, TimeSpan.FromSeconds(60), "the relay drained the outbox");
        Assert.Equal(1, await db.StreamLengthAsync(Topics.NotificationRequested));
        Assert.Equal(1, await db.StreamLengthAsync(Topics.ConsularAlertIssued));
    }

    private sealed class ConsularService(ServiceHost host)
    {
        private string Db => Path.Combine(host.DataDir, "consular.db");

        public async Task RegisterAsync()
        {
            var client = new Consular.V1.ConsularService.ConsularServiceClient(host.Channel(host.Token("consular-officer", "o", postId: "post-bamako")));
            await client.RegisterRegistrantAsync(new Consular.V1.RegisterRegistrantRequest { Registrant = ConsularTestHost.Resident("ML") });
        }

        public Task<long> InboxCountAsync() => ScalarAsync("SELECT COUNT(*) FROM inbox");

        public Task<long> UnsentCountAsync() => ScalarAsync("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL");

        private async Task<long> ScalarAsync(string sql)
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Db};Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)(await command.ExecuteScalarAsync())!;
        }
    }
}
