using System.Collections.Concurrent;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Testing;
using Dcis.Crisis.ThreatLevels.Bench.Echo;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.ThreatLevels.Bench;

/// <summary>The baselines: the same echo, bare (nothing but Grpc.AspNetCore on h2c) and behind the crisis defaults.</summary>
internal static class EchoServer
{
    /// <summary>A bare Grpc.AspNetCore service on h2c: no auth, no interceptor, no telemetry.</summary>
    public static async Task<(WebApplication App, Uri Address)> StartBareAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxSendMessageSize = 16 * 1024 * 1024);
        var app = builder.Build();
        app.MapGrpcService<EchoImpl>();
        await app.StartAsync();
        return (app, new Uri($"http://localhost:{port}"));
    }

    /// <summary>
    /// The echo hosted exactly like a crisis service (AddCrisisDefaults/MapCrisisDefaults: JWT bearer
    /// validation, the read policy, the error interceptor, OpenTelemetry, CloudEvents middleware): the
    /// cost of the shared pipeline, without any threat-levels code. Run it with <see cref="ServiceHost"/>.
    /// </summary>
    public static WebApplication CreateWithCrisisDefaults(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddCrisisDefaults("bench-echo", defaultHttpPort: 0, defaultGrpcPort: 0);
        var app = builder.Build();
        app.MapCrisisDefaults();
        app.MapGrpcService<AuthorizedEchoImpl>();
        return app;
    }

    private static readonly ConcurrentDictionary<int, ByteString> Payloads = new();

    private static Task<EchoResponse> Reply(EchoRequest request) =>
        Task.FromResult(new EchoResponse
        {
            Text = request.Text,
            Payload = Payloads.GetOrAdd(request.ResponseBytes, n => ByteString.CopyFrom(new byte[n])),
        });

    private sealed class EchoImpl : EchoService.EchoServiceBase
    {
        public override Task<EchoResponse> Echo(EchoRequest request, ServerCallContext context) => Reply(request);
    }

    private sealed class AuthorizedEchoImpl : EchoService.EchoServiceBase
    {
        [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
        public override Task<EchoResponse> Echo(EchoRequest request, ServerCallContext context) => Reply(request);
    }
}
