using System.Collections.Concurrent;
using Dcis.Crisis.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dcis.Crisis.EndToEnd.Tests;

/// <summary>A company's webhook endpoint: a real HTTP server that records every request.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        Url = $"http://127.0.0.1:{port}/hooks";
    }

    public string Url { get; }

    public ConcurrentQueue<(Dictionary<string, string> Headers, string Body)> Requests { get; } = new();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, port);
        app.MapPost("/hooks", async (HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            receiver.Requests.Enqueue((headers, body));
            return Results.NoContent();
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
