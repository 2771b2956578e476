using System.Collections.Concurrent;
using Dcis.Crisis.Testing;
using Dcis.Crisis.ThreatLevels.Bench.Echo;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.ThreatLevels.Bench;

/// <summary>A bare Grpc.AspNetCore service on h2c: the baseline.</summary>
internal static class EchoServer
{
    public static async Task<(WebApplication App, Uri Address)> StartAsync()
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

    private sealed class EchoImpl : EchoService.EchoServiceBase
    {
        private static readonly ConcurrentDictionary<int, ByteString> Payloads = new();

        public override Task<EchoResponse> Echo(EchoRequest request, ServerCallContext context) =>
            Task.FromResult(new EchoResponse
            {
                Text = request.Text,
                Payload = Payloads.GetOrAdd(request.ResponseBytes, n => ByteString.CopyFrom(new byte[n])),
            });
    }
}
