using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Testing;
using Dcis.Crisis.ThreatLevels.V1;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.ThreatLevels.Tests.Events;

/// <summary>
/// threat-levels → its dev sidecar → real redis-server → a subscriber's dev sidecar → a tiny
/// Dapr.AspNetCore subscriber app, every part a real process or server.
/// </summary>
public sealed class SidecarEndToEndTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _resources = new("tl-e2e-res");
    private readonly ConcurrentQueue<string> _received = new();
    private RedisServer _redis = null!;
    private WebApplication _subscriber = null!;
    private DevSidecarProcess _subscriberSidecar = null!;
    private DevSidecarProcess _publisherSidecar = null!;
    private ServiceHost _service = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        DevSidecarProcess.WritePubSubComponent(_resources.Path, _redis.EndPoint);

        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1));
        _subscriber = builder.Build();
        _subscriber.MapSubscribeHandler();
        _subscriber.MapPost("events/threat-level-changed", async (HttpContext http) =>
            {
                using var reader = new StreamReader(http.Request.Body);
                _received.Enqueue(await reader.ReadToEndAsync());
                return Results.Ok();
            })
            .WithTopic(Topics.PubSub, Topics.ThreatLevelChanged);
        await _subscriber.StartAsync();

        _subscriberSidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "e2e-subscriber", AppPort = port, ResourcesPaths = [_resources.Path] });
        await _subscriberSidecar.WaitForAppAsync();
        _publisherSidecar = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = ThreatLevelsApp.AppId, ResourcesPaths = [_resources.Path] });
        _service = await ServiceHost.StartAsync(ThreatLevelsApp.Create, new Dictionary<string, string>
        {
            ["DAPR_GRPC_PORT"] = _publisherSidecar.GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DAPR_HTTP_PORT"] = _publisherSidecar.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DAPR_GRPC_ENDPOINT"] = _publisherSidecar.GrpcEndpoint,
            ["DAPR_HTTP_ENDPOINT"] = _publisherSidecar.HttpEndpoint,
        });
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _publisherSidecar.DisposeAsync();
        await _subscriberSidecar.DisposeAsync();
        await _subscriber.StopAsync();
        await _subscriber.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public void Dispose() => _resources.Dispose();

    [Fact]
    public async Task ThreatLevelChanged_Reaches_A_Subscriber_As_A_CloudEvent_With_Proto_Json_And_The_Rpc_Trace()
    {
        using var channel = _service.Channel(_service.Token("analyst", "analyst-e2e"));
        var client = new ThreatLevelsService.ThreatLevelsServiceClient(channel);
        // The caller's trace: the gRPC client propagates it (W3C traceparent) to the service.
        using var rpc = new Activity("analyst sets a level").SetIdFormat(ActivityIdFormat.W3C);
        rpc.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        rpc.Start();
        var traceId = rpc.TraceId.ToHexString();
        var draft = Build.Country("MG", ThreatLevel.AvoidNonEssential, reason: "cyclone Freddy");
        draft.Categories.Add(new CategoryRating { Category = ThreatCategory.NaturalHazards, Severity = Severity.Severe });

        var applied = await client.SetAssessmentAsync(Build.Set(draft));
        rpc.Stop();

        await Eventually.TrueAsync(() => _received.Any(b => b.Contains(applied.Change.ChangeId, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), "ThreatLevelChanged delivered to the subscriber");
        var envelope = (JsonObject)JsonNode.Parse(_received.First(b => b.Contains(applied.Change.ChangeId, StringComparison.Ordinal)))!;
        Assert.Equal("dcis.crisis.events.v1.ThreatLevelChanged", (string?)envelope["type"]);
        Assert.Equal("application/json", (string?)envelope["datacontenttype"]);
        Assert.Equal(Topics.ThreatLevelChanged, (string?)envelope["topic"]);
        Assert.Equal(Topics.PubSub, (string?)envelope["pubsubname"]);
        var traceParent = (string?)envelope["traceparent"];
        Assert.NotNull(traceParent);
        var db = _service.App.Services.GetRequiredService<Dcis.Crisis.Shared.Storage.SqliteDatabase>();
        await using (var connection = await db.OpenAsync(CancellationToken.None))
        {
            await using var command = Dcis.Crisis.Shared.Storage.SqliteCommandExtensions.Command(connection, "SELECT traceparent FROM outbox WHERE event_id = $id", null, ("$id", (string?)envelope["id"]));
            var stored = (string?)await command.ExecuteScalarAsync();
            Assert.True(stored?.Contains(traceId, StringComparison.Ordinal) == true, $"outbox traceparent {stored}, envelope {traceParent}, rpc {traceId}");
        }

        Assert.Equal(traceId, traceParent!.Split('-')[1]);
        var data = ProtoJson.Parse<ThreatLevelChanged>(envelope["data"]!.ToJsonString());
        Assert.Equal((string?)envelope["id"], data.EventId);
        Assert.Equal("MG", data.AssessmentId);
        Assert.Equal(ThreatLevel.AvoidNonEssential, data.NewLevel);
        Assert.Equal(ThreatLevel.Unspecified, data.PreviousLevel);
        Assert.Equal([ThreatCategory.NaturalHazards], data.CategoriesAdded);
        Assert.Equal(applied.Change.Sequence, data.Sequence);
        Assert.Equal("cyclone Freddy", data.Reason);
        Assert.Equal("analyst-e2e", data.Author);
        Assert.Equal("THREAT_LEVEL_AVOID_NON_ESSENTIAL", (string?)envelope["data"]!["newLevel"]);
    }
}
