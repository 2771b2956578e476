using System.Diagnostics;
using Dapr.Client;
using Dcis.Crisis.Testing;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.Advisories.Bench;

/// <summary>
/// The floor under scenario B: the hops a level change takes, with no service work on them. One event
/// is published through a dev sidecar (gRPC PublishEvent, as threat-levels' relay does), goes through
/// Redis to a second dev sidecar, which POSTs it to a bare app; the app pushes one message on an open
/// gRPC server stream (a health Watch), read by a client over a real channel. No SQLite, no auth, no
/// parsing, no advisory. What B costs above this is the services' own work; what this costs above the
/// raw Redis round trip is the sidecars, Kestrel and gRPC. The app and the stream's client run in this
/// process, so the floor has one process fewer than B (whose clients run in a process of their own).
/// </summary>
internal sealed class FloorChain : IAsyncDisposable
{
    private const string Topic = "bench-floor";
    private static readonly byte[] Event = System.Text.Encoding.UTF8.GetBytes(
        """{"eventId":"floor","assessmentId":"SN","version":"12","area":{"countryCode":"SN"},"previousLevel":"THREAT_LEVEL_INCREASED","newLevel":"THREAT_LEVEL_AVOID_NON_ESSENTIAL","summary":{"fr":"Situation dégradée.","en":"Situation worsening."},"advice":{"fr":"Prudence.","en":"Caution."}}""");

    private readonly WebApplication _app;
    private readonly DevSidecarProcess _publisher;
    private readonly DevSidecarProcess _subscriber;
    private readonly DaprClient _dapr;
    private readonly GrpcChannel _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private TaskCompletionSource<long>? _pending;

    private FloorChain(WebApplication app, DevSidecarProcess publisher, DevSidecarProcess subscriber, GrpcChannel channel)
    {
        _app = app;
        _publisher = publisher;
        _subscriber = subscriber;
        _channel = channel;
        _dapr = new DaprClientBuilder().UseGrpcEndpoint(publisher.GrpcEndpoint).UseHttpEndpoint(publisher.HttpEndpoint).Build();
        var watch = new Health.HealthClient(channel).Watch(new HealthCheckRequest { Service = Topic }, cancellationToken: _stop.Token);
        _reader = Task.Run(async () =>
        {
            try
            {
                while (await watch.ResponseStream.MoveNext(_stop.Token))
                {
                    Volatile.Read(ref _pending)?.TrySetResult(Stopwatch.GetTimestamp());
                }
            }
            catch (global::Grpc.Core.RpcException) when (_stop.IsCancellationRequested)
            {
            }
        });
    }

    public static async Task<FloorChain> StartAsync(string resourcesPath)
    {
        var httpPort = FreePort.Next();
        var grpcPort = FreePort.Next();
        var health = new HealthServiceImpl();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenLocalhost(httpPort, o => o.Protocols = HttpProtocols.Http1);
            k.ListenLocalhost(grpcPort, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(health);
        var app = builder.Build();
        var serving = false;
        app.MapGet("/dapr/subscribe", () => Results.Json(new[] { new { pubsubname = "crisis-pubsub", topic = Topic, route = "/events/" + Topic } }));
        app.MapPost("/events/" + Topic, async (HttpContext http) =>
        {
            await http.Request.Body.CopyToAsync(Stream.Null);
            serving = !serving;
            health.SetStatus(Topic, serving ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing);
            return Results.Ok();
        });
        app.MapGrpcService<HealthServiceImpl>();
        await app.StartAsync();

        var publisher = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "bench-floor-publisher", ResourcesPaths = [resourcesPath] });
        var subscriber = await DevSidecarProcess.StartAsync(new DevSidecarOptions { AppId = "bench-floor", AppPort = httpPort, ResourcesPaths = [resourcesPath] });
        await subscriber.WaitForAppAsync();
        var floor = new FloorChain(app, publisher, subscriber, GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}"));
        await Task.Delay(200); // the Watch call's first message (the initial status) arrives
        return floor;
    }

    /// <summary>One event through the chain, in ms from the publish call to the stream's message.</summary>
    public async Task<double> RoundTripAsync()
    {
        var arrived = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _pending, arrived);
        var start = Stopwatch.GetTimestamp();
        await _dapr.PublishByteEventAsync("crisis-pubsub", Topic, Event, "application/json");
        var end = await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return (end - start) * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary><paramref name="n"/> round trips one after another, each after <paramref name="idleBefore"/> of nothing if given.</summary>
    public Task<List<double>> RoundTripsAsync(int n, TimeSpan idleBefore = default) => RoundTrips.RepeatAsync(RoundTripAsync, n, idleBefore);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reader.ContinueWith(_ => { }, TaskScheduler.Default);
        _dapr.Dispose();
        _channel.Dispose();
        await _subscriber.DisposeAsync();
        await _publisher.DisposeAsync();
        await _app.DisposeAsync();
        _stop.Dispose();
    }
}
